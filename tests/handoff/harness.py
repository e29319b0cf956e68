"""Helpers of the handoff tests that share one service per module."""

import itertools

from tests.support.handoff_env import Handoff

_customers = itertools.count(15551240001)


def new_customer() -> str:
    return str(next(_customers))


def chat_with(handoff: Handoff, token: str, customer_wrote: bool = True) -> tuple[str, str]:
    """A new customer's chat, assigned to alice (online); her earlier chats are resolved so she has room."""
    for chat_id in handoff.service.chats.agent_chats("alice"):
        handoff.api("POST", f"/api/chats/{chat_id}/resolve", token)
    customer = new_customer()
    if customer_wrote:
        handoff.customer_writes(customer, "can you send me a photo of it?")
    chat_id = handoff.escalate(customer).json()["chat_id"]
    assert handoff.service.chats.chat(chat_id)["agent"] == "alice"
    return customer, chat_id
