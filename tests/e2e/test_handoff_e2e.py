"""Human handoff through the whole system: real Rasa, Redis, handoff service (gunicorn) and the stand-in.

the customer asks for a person -> the bot escalates (queued, position and wait told) -> assigned -> the
agent's reply reaches WhatsApp -> the customer's reply reaches the agent, not the bot (also after the
session expired, and when they type /restart) -> resolve -> the bot says goodbye and asks for a rating.
"""

import json
import time
from typing import Any, Dict, List

import pytest
import redis
import requests

from handoff.app import create_app
from tests.e2e.harness import Stack, wait_until
from tests.support.helpers import free_port, serve_wsgi

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(handoff_stack: Stack) -> Stack:
    return handoff_stack  # shared with the other handoff modules


def user_texts(tracker: Dict[str, Any]) -> List[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def test_human_handoff_from_escalation_to_the_bot_again(stack: Stack) -> None:
    wa_id = "15557770001"
    stack.customer_writes(wa_id, "hello")
    greeting = stack.quiet_outbox(wa_id)[-1]
    assert stack.handoff("GET", f"/api/customers/{wa_id}").json()["owner"] == {"state": "bot"}

    stack.customer_writes(wa_id, "I want to speak to a human")
    told = stack.quiet_outbox(wa_id, after=greeting["seq"])
    assert "You're number 1 in the queue" in told[-1]["message"]["text"]["body"], told
    greeting = told[-1]
    owner = stack.handoff("GET", f"/api/customers/{wa_id}").json()["owner"]
    assert owner["state"] == "queued"
    chat_id = owner["chat_id"]

    alice = stack.agent_token("alice")  # seeded for `make run`: orders and general
    assert stack.handoff("PUT", "/api/me/status", alice, json={"status": "online"}).status_code == 200
    chat = stack.handoff("GET", f"/api/chats/{chat_id}", alice).json()
    assert chat["chat"]["state"] == "agent" and chat["chat"]["agent"] == "alice"
    assert chat["chat"]["reason"] == "customer_request" and chat["chat"]["summary"]
    assert [line["text"] for line in chat["history"] if line["kind"] == "customer"] == [
        "hello", "I want to speak to a human"]

    sent = stack.handoff("POST", f"/api/chats/{chat_id}/messages", alice, json={"text": "Hi Ana, Alice here."})
    assert sent.status_code == 201, sent.text
    [reply] = stack.outbox(wa_id, after=greeting["seq"], wait=30)
    assert reply["message"]["text"]["body"] == "Hi Ana, Alice here."
    # One transcript: the agent's message is in the Rasa tracker too (recorded, not sent twice).
    [recorded] = [e for e in stack.tracker(wa_id)["events"]
                  if e["event"] == "bot" and e["text"] == "Hi Ana, Alice here."]
    assert (recorded["metadata"]["agent"], recorded["metadata"]["wamid"]) == ("alice", reply["wamid"])

    stack.customer_writes(wa_id, "is it coming today?")
    wait_until(lambda: [m for m in stack.handoff("GET", f"/api/chats/{chat_id}", alice).json()["messages"]
                        if m["kind"] == "customer" and m["text"] == "is it coming today?"])
    wait_until(lambda: "is it coming today?" in user_texts(stack.tracker(wa_id)))

    # The session expires while the customer waits for the agent (Rasa's 60 minutes), and they type
    # /restart: neither reaches Rasa's processor, so the bot stays quiet (and typed text is never a command:
    # it is recorded as the words "restart").
    store = redis.Redis.from_url(stack.env_["REDIS_URL"])
    saved = json.loads(store.get(f"wabot:tracker:{wa_id}"))
    for event in saved["events"]:
        event["timestamp"] -= 3 * 3600
    store.set(f"wabot:tracker:{wa_id}", json.dumps(saved))
    stack.customer_writes(wa_id, "hello?? anyone")
    stack.customer_writes(wa_id, "/restart")
    wait_until(lambda: "restart" in user_texts(stack.tracker(wa_id)))
    assert stack.outbox(wa_id, after=reply["seq"], wait=3) == []  # no bot reply over the agent
    events = stack.tracker(wa_id)["events"]
    assert [e["event"] for e in events].count("session_started") == 1  # only the first one
    assert not [e for e in events if e["event"] == "restart"]
    customer_lines = [m["text"] for m in stack.handoff("GET", f"/api/chats/{chat_id}", alice).json()["messages"]
                      if m["kind"] == "customer"]
    assert customer_lines == ["is it coming today?", "hello?? anyone", "restart"]

    resolved = stack.handoff("POST", f"/api/chats/{chat_id}/resolve", alice, json={"resolution": "ships today"})
    assert resolved.status_code == 200 and resolved.json()["chat"]["state"] == "resolved"
    assert stack.handoff("GET", f"/api/customers/{wa_id}").json()["owner"]["state"] == "bot"
    history = stack.handoff("GET", f"/api/customers/{wa_id}").json()["history"]
    assert [(h["from"], h["to"]) for h in history] == [("bot", "queued"), ("queued", "agent"), ("agent", "bot")]
    # Back with the bot: it closes the conversation on WhatsApp and asks for a rating.
    closing = stack.quiet_outbox(wa_id, after=reply["seq"])
    assert closing[0]["message"]["text"]["body"] == "Thanks for your patience! Our team has closed your request: " \
        "ships today"
    assert closing[1]["message"]["interactive"]["body"]["text"] == "How did we do today?"
    assert any(e["event"] == "resume" for e in stack.tracker(wa_id)["events"])
    assert stack.handoff("GET", "/api/handbacks").json()["pending"] == []


def test_hand_back_while_rasa_is_unreachable_is_retried_until_rasa_takes_it(stack: Stack) -> None:
    env = stack.env_
    wa_id = "15557770002"
    stack.customer_writes(wa_id, "hi")
    stack.quiet_outbox(wa_id)
    # A second handoff worker on the same Redis whose Rasa URL points where nothing listens.
    dead_rasa = f"http://127.0.0.1:{free_port()}"
    app = create_app({**env, "RASA_URL": dead_rasa, "HANDOFF_BACKGROUND": "false"})
    service = app.extensions["handoff"]
    with serve_wsgi(app) as url:
        escalated = requests.post(url + "/api/escalations", timeout=10, json={
            "customer": wa_id, "reason": "complaint", "intent": "complaint", "summary": "unhappy"},
            headers={"Authorization": f"Bearer {env['HANDOFF_API_TOKEN']}"})
        chat_id = escalated.json()["chat_id"]
        resolved = requests.post(f"{url}/api/chats/{chat_id}/resolve", json={"resolution": "apologised"},
                                 headers={"Authorization": f"Bearer {env['HANDOFF_API_TOKEN']}"}, timeout=30)
        assert resolved.status_code == 200
        assert [p["chat_id"] for p in service.pending_handbacks()] == [chat_id]
        assert not any(e["event"] == "resume" for e in stack.tracker(wa_id)["events"])
        # Rasa is reachable again: the next retry hands the customer back, and nothing is pending.
        service.rasa.url = env["RASA_URL"]
        service.tick(now=time.time() + 3600)
        assert service.pending_handbacks() == []
    assert any(e["event"] == "resume" for e in stack.tracker(wa_id)["events"])


def test_the_whole_output_shows_no_secret_and_no_customer_number_in_the_handoff_log(stack: Stack) -> None:
    """Runs after the hand-offs above: Rasa was called with its token, Redis with its password."""
    env = stack.env_
    output = "\n".join(stack.lines)
    for secret in ("RASA_API_TOKEN", "HANDOFF_API_TOKEN", "ACTIONS_TOKEN", "REDIS_PASSWORD", "HANDOFF_SECRET_KEY"):
        assert env[secret] and env[secret] not in output, secret
    handoff_lines = [line for line in stack.lines if line.startswith("handoff ")]  # supervision's prefix
    assert any("/api/internal/customers/wa:" in line for line in handoff_lines), "the access log is on"
    assert not any(number in line for line in handoff_lines for number in ("15557770001", "15557770002"))
