"""Other languages through the whole system: real Rasa (with the language detector), the action server,
Redis, the handoff service and the stand-in.

Short English messages stay with the bot; a Spanish one gets one answer in Spanish and reaches the team
with its language, where the agent who speaks Spanish gets it (the demo agents: alice speaks English,
German and French, bob English, Spanish and Portuguese).
"""


from typing import Iterator, Tuple

import pytest

from tests.e2e.harness import Stack, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(handoff_stack: Stack) -> Stack:
    return handoff_stack  # shared with the other handoff modules

SPANISH_REPLY = "¡Gracias! Le paso con una persona de nuestro equipo, que le responderá aquí."


def texts(sent: list) -> list:
    return [m["message"].get("text", {}).get("body") or m["message"].get("interactive", {}).get("body", {}).get("text")
            for m in sent]


def test_short_english_messages_stay_with_the_bot(stack: Stack) -> None:
    wa_id = "15557771001"
    last = 0
    for text in ("hi", "ok thx", "were is my ordr", "A-10023"):
        stack.customer_writes(wa_id, text)
        sent = stack.quiet_outbox(wa_id, after=last)
        assert sent and SPANISH_REPLY not in texts(sent), (text, sent)
        last = sent[-1]["seq"]
    assert stack.handoff("GET", f"/api/customers/{wa_id}").json()["owner"] == {"state": "bot"}
    languages = [(e["parse_data"].get("language") or {}).get("supported")
                 for e in stack.tracker(wa_id)["events"] if e["event"] == "user"]
    # (The typed order number is also heard again as the question's intent, without a language.)
    assert languages.count(True) == 4 and False not in languages, languages


@pytest.fixture()
def agents_online(stack: Stack) -> Iterator[Tuple[str, str]]:
    """alice and bob (both in the general team) online for the test, offline again after it: the stack is
    shared, and the handoff module expects customers to wait in the queue."""
    tokens = stack.agent_token("alice"), stack.agent_token("bob")
    for token in tokens:
        assert stack.handoff("PUT", "/api/me/status", token, json={"status": "online"}).status_code == 200
    yield tokens
    for token in tokens:
        assert stack.handoff("PUT", "/api/me/status", token, json={"status": "offline"}).status_code == 200


def test_a_spanish_customer_is_answered_once_in_spanish_and_gets_the_agent_who_speaks_it(
        stack: Stack, agents_online: Tuple[str, str]) -> None:
    _, bob = agents_online

    wa_id = "15557771002"
    stack.customer_writes(wa_id, "hola, mi pedido todavía no ha llegado y quiero hablar con alguien")
    sent = stack.quiet_outbox(wa_id)
    assert texts(sent) == [SPANISH_REPLY]

    chat_id = wait_until(lambda: stack.handoff("GET", f"/api/customers/{wa_id}").json()["owner"].get("chat_id"))
    chat = stack.handoff("GET", f"/api/chats/{chat_id}", bob).json()["chat"]
    assert chat["language"] == "es" and chat["reason"] == "language"
    assert chat["state"] == "agent" and chat["agent"] == "bob"

    # The customer's next message goes to bob, not to the bot: no second answer from the bot.
    stack.customer_writes(wa_id, "¿hola?")
    assert stack.outbox(wa_id, after=sent[-1]["seq"], wait=5) == []
    [user] = [e for e in stack.tracker(wa_id)["events"] if e["event"] == "user"][:1]
    assert user["parse_data"]["language"] == {"code": "es", "confidence": user["parse_data"]["language"]["confidence"],
                                              "supported": False}
    # bob settles the chat, so the shared stack's queue is empty again for the next module.
    resolved = stack.handoff("POST", f"/api/chats/{chat_id}/resolve", bob)
    assert resolved.status_code == 200 and resolved.json()["chat"]["state"] == "resolved", resolved.text
