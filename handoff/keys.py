"""The handoff service's Redis keys. They are defined in stack/handoff_keys.py, where privacy/ reads the same
layout to export and erase a customer; the handoff's code keeps importing them from here."""

from stack.handoff_keys import (  # noqa: F401
    AGENTS,
    ALL_OPEN,
    FEED,
    HANDBACK_PENDING,
    PREFIX,
    PRESENCE,
    SERVICE_BACK,
    SERVICE_SEEN,
    SLA_BREACHED,
    SLA_DUE,
    agent,
    agent_chats,
    api_token,
    canned,
    chat,
    customer_chats,
    history,
    inbound_seen,
    messages,
    owner,
    queue,
    seen,
    team_stats,
    window,
)
