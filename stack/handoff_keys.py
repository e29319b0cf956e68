"""Every Redis key the handoff service writes, named in one place.

It lives below the applications so that privacy/ (export and erasure) reads the same layout the handoff
service writes, without importing the service. handoff/keys.py re-exports it. The owner key is also in
handoff/contract.py for the bot, which imports nothing else; tests/privacy/test_layout.py checks both agree.
"""

# handoff/contract.py KEY_PREFIX. The `{wa}` hash tag: the service's scripts write its keys with the event
# stream, so on Redis Cluster they share its slot (whatsapp_cloud/redis_keys.py).
PREFIX = "{wa}:handoff:"
FEED = PREFIX + "feed"  # stream of changes the inbox shows live (server-sent events)
AGENTS = PREFIX + "agents"  # set of usernames
HANDBACK_PENDING = PREFIX + "handback"  # zset chat_id -> when to (re)try handing the customer back to Rasa
SLA_DUE = PREFIX + "sla"  # zset "first:{chat}" / "next:{chat}" -> when the response is due
SLA_BREACHED = PREFIX + "sla-breached"  # zset chat_id -> when its SLA was breached (supervisor view)
PRESENCE = PREFIX + "presence"  # zset username -> when the agent was last seen (page, stream or API call)
SERVICE_SEEN = PREFIX + "service-seen"  # when a worker last ran its background work
SERVICE_BACK = PREFIX + "service-back"  # when the service (or its Redis) came back after a pause
ALL_OPEN = PREFIX + "open"  # zset chat_id -> created_at: every chat that is queued or with an agent


def owner(wa_id: str) -> str:
    """Hash: who owns the customer's conversation now (as handoff/contract.py owner_key)."""
    return f"{PREFIX}owner:{wa_id}"


def history(wa_id: str) -> str:
    """List of the ownership transitions of a customer (JSON), oldest first."""
    return f"{PREFIX}history:{wa_id}"


def chat(chat_id: str) -> str:
    return f"{PREFIX}chat:{chat_id}"


def messages(chat_id: str) -> str:
    """List of the chat's messages while it is with the handoff service (JSON), oldest first."""
    return f"{PREFIX}messages:{chat_id}"


def queue(team: str) -> str:
    """Zset of a team's waiting chats, scored by when the customer's service window closes."""
    return f"{PREFIX}queue:{team}"


def agent(username: str) -> str:
    return f"{PREFIX}agent:{username}"


def agent_chats(username: str) -> str:
    """Set of the chats an agent has open."""
    return f"{PREFIX}agent-chats:{username}"


def api_token(digest: str) -> str:
    """An agent's API token, by its SHA-256 (the token itself is never stored)."""
    return f"{PREFIX}token:{digest}"


def inbound_seen(wamid: str) -> str:
    return f"{PREFIX}seen:{wamid}"


def customer_chats(wa_id: str) -> str:
    """List of a customer's chat ids, oldest first."""
    return f"{PREFIX}customer-chats:{wa_id}"


def team_stats(team: str) -> str:
    """Hash with the team's average handling time (for the expected wait)."""
    return f"{PREFIX}stats:{team}"


def canned(team: str) -> str:
    """Hash title -> text of a team's quick replies."""
    return f"{PREFIX}canned:{team}"


def window(wa_id: str) -> str:
    """When the customer last wrote (their own timestamp): the service window runs 24 h from it."""
    return f"{PREFIX}last-inbound:{wa_id}"


def seen(username: str) -> str:
    """Hash chat_id -> how many of the chat's messages the agent had when they last looked at it (their unread
    counts); expires HANDOFF_RETENTION_DAYS after the agent last opened a chat."""
    return f"{PREFIX}seen-by:{username}"
