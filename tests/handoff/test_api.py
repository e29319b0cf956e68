"""The handoff JSON API over real HTTP, with a real Redis and the Cloud API stand-in receiving agent replies."""

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Set, Tuple

import pytest
import requests
import yaml

from handoff import keys
from tests.support.handoff_env import API_TOKEN, PASSWORD, Handoff, running_handoff
from tests.support.redis_process import RedisProcess
from whatsapp_cloud import redis_keys

CUSTOMER = "15551230001"


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url) as running:
        yield running


def online(handoff: Handoff, username: str) -> str:
    token = handoff.login(username)
    assert handoff.api("PUT", "/api/me/status", token, json={"status": "online"}).status_code == 200
    return token


def test_escalation_needs_the_integration_token_and_valid_input(handoff: Handoff) -> None:
    assert handoff.api("POST", "/api/escalations", token="wrong", json={}).status_code == 401
    for bad, why in [({"customer": "abc", "reason": "fallback"}, "customer"),
                     ({"customer": CUSTOMER, "reason": "bored"}, "reason"),
                     ({"customer": CUSTOMER, "reason": "fallback", "slots": []}, "slots")]:
        answer = handoff.api("POST", "/api/escalations", json=bad)
        assert answer.status_code == 400 and why in answer.json()["error"]
    not_json = handoff.api("POST", "/api/escalations", data="customer=1")
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    assert handoff.service.chats.owner(CUSTOMER) == {"state": "bot"}  # nothing half-created


def test_escalation_tells_the_position_and_wait_and_is_idempotent(handoff: Handoff) -> None:
    online(handoff, "rita")  # refunds
    first = handoff.escalate("15550000001", intent="order_status")  # orders: nobody online
    assert first.status_code == 201
    body = first.json()
    assert body["state"] == "queued" and body["team"] == "orders" and body["position"] == 1
    assert body["expected_wait_seconds"] is None  # no orders agent online
    assert body["office_hours"] == {"open": True, "opens_at": None}
    second = handoff.escalate("15550000002", intent="cancel_order").json()
    assert second["position"] == 2
    again = handoff.escalate("15550000001", intent="order_status")
    assert again.status_code == 200 and again.json()["chat_id"] == body["chat_id"]
    refund = handoff.escalate("15550000003", intent="get_refund").json()
    assert refund["state"] == "agent" and refund["team"] == "refunds" and refund["position"] is None
    assert handoff.service.chats.chat(refund["chat_id"])["agent"] == "rita"
    online(handoff, "bob")  # orders + refunds, capacity 2: takes both waiting orders chats
    handoff.service.tick()
    assert handoff.escalate("15550000001").json()["state"] == "agent"


def test_out_of_office_hours_the_escalation_says_when_agents_are_back(redis_url: str) -> None:
    day_after_tomorrow = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%a").lower()
    with running_handoff(redis_url, HANDOFF_OFFICE_HOURS=f"{day_after_tomorrow} 09:00-17:00") as handoff:
        body = handoff.escalate(CUSTOMER).json()
    assert body["office_hours"]["open"] is False and body["state"] == "queued"
    opens_at = datetime.fromisoformat(body["office_hours"]["opens_at"])
    assert opens_at > datetime.now(timezone.utc) and opens_at.strftime("%a").lower() == day_after_tomorrow
    assert body["expected_wait_seconds"] >= (opens_at - datetime.now(timezone.utc)).total_seconds() - 5


def test_the_whole_chat_over_the_api(handoff: Handoff) -> None:
    alice = online(handoff, "alice")
    customer_wrote = handoff.customer_writes(CUSTOMER, "where is my parcel?")
    assert customer_wrote.status_code == 409  # the bot still owns the customer: the channel runs the bot
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    assert handoff.api("GET", "/api/chats?mine=1", alice).json()["chats"][0]["chat_id"] == chat_id

    routed = handoff.customer_writes(CUSTOMER, "hello? <b>anyone</b>")
    assert routed.status_code == 200 and routed.json() == {"chat_id": chat_id, "outcome": "ok"}
    sent = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json={"text": "Hi, Alice here."})
    assert sent.status_code == 201, sent.text
    [delivered] = handoff.outbox(CUSTOMER)
    assert delivered["message"]["text"]["body"] == "Hi, Alice here."
    assert delivered["wamid"] == sent.json()["message"]["wamid"]
    assert handoff.api("POST", f"/api/chats/{chat_id}/notes", alice, json={"text": "VIP"}).status_code == 201

    view = handoff.api("GET", f"/api/chats/{chat_id}", alice).json()
    assert [m["kind"] for m in view["messages"]] == ["customer", "agent", "note"]
    assert view["messages"][0]["text"] == "hello? <b>anyone</b>"
    assert view["composer"]["mode"] == "session" and 0 < view["chat"]["window_seconds_left"] <= 24 * 3600
    assert view["customer"]["slots"] == {"order_id": "1001"}

    resolved = handoff.api("POST", f"/api/chats/{chat_id}/resolve", alice, json={"resolution": "parcel found"})
    assert resolved.status_code == 200 and resolved.json()["chat"]["state"] == "resolved"
    assert handoff.service.chats.owner(CUSTOMER)["state"] == "bot"
    assert handoff.customer_writes(CUSTOMER, "thanks").status_code == 409  # back with the bot


def test_an_agents_retried_send_with_the_same_client_key_goes_out_once(handoff: Handoff) -> None:
    alice = online(handoff, "alice")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    handoff.customer_writes(CUSTOMER, "hello?")
    reply = {"text": "On it.", "client_key": "reply-0001-retry"}
    first = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json=reply)
    again = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json=reply)  # e.g. after a timeout
    assert first.status_code == again.status_code == 201
    assert first.json()["message"]["wamid"] == again.json()["message"]["wamid"]
    assert len(handoff.outbox(CUSTOMER)) == 1
    view = handoff.api("GET", f"/api/chats/{chat_id}", alice).json()
    assert [m["kind"] for m in view["messages"]] == ["customer", "agent"]


def test_an_agent_replying_after_the_chat_was_transferred_is_refused(handoff: Handoff) -> None:
    alice, bob = online(handoff, "alice"), online(handoff, "bob")
    handoff.customer_writes(CUSTOMER, "hi")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    owner = handoff.service.chats.chat(chat_id)["agent"]
    first, other = (alice, bob) if owner == "alice" else (bob, alice)
    to = "bob" if owner == "alice" else "alice"
    moved = handoff.api("POST", f"/api/chats/{chat_id}/transfer", first, json={"to_agent": to})
    assert moved.status_code == 200 and moved.json()["chat"]["agent"] == to
    late = handoff.api("POST", f"/api/chats/{chat_id}/messages", first, json={"text": "still me"})
    assert late.status_code == 409 and late.json()["reason"] == "not_owner" and to in late.json()["error"]
    assert handoff.outbox(CUSTOMER) == []  # nothing reached the customer
    assert handoff.api("POST", f"/api/chats/{chat_id}/messages", other, json={"text": "hi"}).status_code == 201
    to_team = handoff.api("POST", f"/api/chats/{chat_id}/transfer", other, json={"to_team": "refunds"})
    moved_chat = to_team.json()["chat"]
    # Bob is the only online refunds agent: the chat goes to him, or waits if he is the one who moved it.
    assert moved_chat["team"] == "refunds"
    assert (moved_chat["state"], moved_chat["agent"]) == (("queued", None) if other == bob else ("agent", "bob"))
    assert handoff.api("POST", f"/api/chats/{chat_id}/transfer", other, json={}).status_code == 400


def test_double_claim_over_http_exactly_one_wins(handoff: Handoff) -> None:
    alice, bob = handoff.login("alice"), handoff.login("bob")  # both offline: nothing is auto-assigned
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    answers = [handoff.api("POST", f"/api/chats/{chat_id}/claim", token) for token in (alice, bob)]
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert [a.json()["reason"] for a in answers if a.status_code == 409] == ["taken"]


def test_unknown_chats_customers_and_other_teams(handoff: Handoff) -> None:
    rita = handoff.login("rita")  # refunds only
    assert handoff.api("GET", "/api/chats/cnope", rita).status_code == 404
    assert handoff.api("POST", "/api/chats/cnope/claim", rita).status_code == 404
    unknown = handoff.api("POST", "/api/internal/customers/15559999999/messages", json={"wamid": "wamid.X"})
    assert unknown.status_code == 409 and unknown.json()["reason"] == "not_with_handoff"
    chat_id = handoff.escalate(CUSTOMER, intent="order_status").json()["chat_id"]
    assert handoff.api("GET", f"/api/chats/{chat_id}", rita).status_code == 403
    assert handoff.api("POST", f"/api/chats/{chat_id}/claim", rita).status_code == 403
    assert handoff.api("GET", "/api/queue", rita).json()["chats"] == []
    supervisor = handoff.login("sam")
    assert [c["chat_id"] for c in handoff.api("GET", "/api/queue", supervisor).json()["chats"]] == [chat_id]
    assert handoff.api("GET", "/api/me", "not-a-token").status_code == 401
    assert handoff.api("POST", f"/api/chats/{chat_id}/claim").status_code == 403  # integration token


def test_outside_the_window_free_text_is_blocked_and_an_approved_template_goes(handoff: Handoff) -> None:
    alice = online(handoff, "alice")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    long_ago = handoff.policy.now() - timedelta(hours=25)
    handoff.policy.record_inbound(CUSTOMER, long_ago, from_referral=False)  # the customer last wrote 25 h ago
    blocked = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json={"text": "hello"})
    assert blocked.status_code == 422 and "window" in blocked.json()["error"]
    view = handoff.api("GET", f"/api/chats/{chat_id}", alice).json()
    assert view["composer"]["mode"] == "template" and view["chat"]["window_seconds_left"] == 0
    costs = view["conversations"]  # what the agent is told the next message would cost
    assert costs["service_window"] == {"open": False, "until": None}
    assert costs["next_message"]["free_form"]["allowed"] is False
    assert costs["next_message"]["utility"]["allowed"] is True
    offered = {(t["name"], t["language"]) for t in view["composer"]["templates"]}
    assert ("order_update", "en_US") in offered

    update = {"template": "order_update", "language": "en_US", "values": {"order_id": "1001", "status": "shipped"}}
    no_opt_in = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json=update)
    assert no_opt_in.status_code == 422 and "opt-in" in no_opt_in.json()["error"]
    handoff.policy.record_consent(CUSTOMER, "in", ["utility"], "whatsapp_thread", "said yes to order updates")
    missing = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice,
                          json={**update, "values": {"order_id": "1001"}})
    assert missing.status_code == 422 and "status" in missing.json()["error"]
    unknown = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json={**update, "template": "nope"})
    assert unknown.status_code == 422 and "does not exist" in unknown.json()["error"]
    assert handoff.outbox(CUSTOMER) == []

    sent = handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json=update)
    assert sent.status_code == 201, sent.text
    assert "Update on your order 1001: shipped." in sent.json()["message"]["text"]
    [delivered] = handoff.outbox(CUSTOMER)
    assert delivered["message"]["type"] == "template" and delivered["message"]["template"]["name"] == "order_update"


def test_rasa_unreachable_during_hand_back_is_retried_not_lost(handoff: Handoff) -> None:
    alice = online(handoff, "alice")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    assert handoff.api("POST", f"/api/chats/{chat_id}/resolve", alice, json={}).status_code == 200
    supervisor = handoff.login("sam")
    [pending] = handoff.api("GET", "/api/handbacks", supervisor).json()["pending"]
    assert pending["chat_id"] == chat_id and pending["attempts"] == 1 and "unreachable" in pending["error"]
    handoff.service.tick(now=pending["next_attempt_at"] + 1)
    [still] = handoff.api("GET", "/api/handbacks", supervisor).json()["pending"]
    assert still["attempts"] == 2
    assert handoff.api("GET", "/api/handbacks", alice).status_code == 403


def test_sla_breach_escalates_to_supervisors(handoff: Handoff) -> None:
    alice = online(handoff, "alice")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    created = float(handoff.service.chats.chat(chat_id)["created_at"])
    handoff.service.tick(now=created + 60)
    assert handoff.service.chats.chat(chat_id).get("sla_breached") is None
    handoff.service.tick(now=created + 121)
    chat = handoff.api("GET", f"/api/chats/{chat_id}", handoff.login("sam")).json()
    assert chat["chat"]["sla_breached"] == "first"
    assert chat["messages"][-1]["kind"] == "system" and "SLA" in chat["messages"][-1]["text"]
    handoff.customer_writes(CUSTOMER, "hi")
    assert handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json={"text": "sorry"}).status_code == 201
    handoff.service.tick(now=created + 10_000)  # the reply stopped the next-response timer
    events = handoff.service.redis.xrange(redis_keys.EVENT_STREAM)
    breaches = [f for _i, f in events if f["kind"] == "handoff_sla_breached"]
    assert [b["sla"] for b in breaches] == ["first"]


def test_api_login_is_rate_limited(handoff: Handoff) -> None:
    url = handoff.url + "/api/auth/token"
    answers = [requests.post(url, json={"username": "alice", "password": "guess"}, timeout=10).status_code
               for _ in range(6)]
    assert answers == [401] * 5 + [429]
    correct = requests.post(url, json={"username": "alice", "password": PASSWORD}, timeout=10)
    assert correct.status_code == 429  # even the right password waits out the limit


def test_agents_and_quick_replies_by_role(handoff: Handoff) -> None:
    alice = handoff.login("alice")
    new = {"username": "zoe", "password": PASSWORD, "teams": ["payments"], "capacity": 2}
    assert handoff.api("POST", "/api/agents", alice, json=new).status_code == 403
    created = handoff.api("POST", "/api/agents", API_TOKEN, json=new)
    assert created.status_code == 201 and created.json()["agent"]["teams"] == ["payments"]
    assert handoff.api("POST", "/api/agents", API_TOKEN, json=new).status_code == 400  # exists
    assert handoff.api("PUT", "/api/canned/orders", alice, json={"replies": {"Hi": "Hello!"}}).status_code == 403
    sam = handoff.login("sam")
    assert handoff.api("PUT", "/api/canned/orders", sam, json={"replies": {"Hi": "Hello!"}}).status_code == 200
    assert handoff.api("GET", "/api/canned", alice).json()["canned"]["orders"] == {"Hi": "Hello!"}


def _routes(handoff: Handoff) -> Set[Tuple[str, str]]:
    found = set()
    for rule in handoff.app.url_map.iter_rules():
        if not (rule.rule.startswith(("/api/", "/opt-in")) or rule.rule in ("/health", "/metrics")):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        found |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_api_route_is_documented_and_every_documented_route_exists(handoff: Handoff) -> None:
    served = requests.get(handoff.url + "/api/openapi.yaml", timeout=10)
    assert served.status_code == 200
    document = yaml.safe_load(served.text)
    assert document == yaml.safe_load(Path("handoff/openapi.yaml").read_text())
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == _routes(handoff)


def test_an_agent_who_vanishes_goes_away_and_their_chats_wait_for_someone_else(handoff: Handoff) -> None:
    online(handoff, "alice")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    assert handoff.service.chats.chat(chat_id)["agent"] == "alice"
    last_seen = handoff.service.redis.zscore(keys.PRESENCE, "alice")
    handoff.service.tick(now=last_seen + 60)  # seen recently: nothing changes
    assert handoff.service.chats.chat(chat_id)["agent"] == "alice"
    bob = online(handoff, "bob")
    handoff.service.redis.zadd(keys.PRESENCE, {"bob": last_seen + 10_000})  # bob keeps his inbox open
    for after in range(80, 180, 20):  # the service runs all along: its absence is alice's own
        handoff.service.tick(now=last_seen + after)
    assert handoff.agents.get("alice").status == "online"  # type: ignore[union-attr]
    handoff.service.tick(now=last_seen + 181)
    assert handoff.agents.get("alice").status == "away"  # type: ignore[union-attr]
    assert handoff.service.chats.chat(chat_id)["agent"] == "bob"
    assert handoff.api("GET", "/api/chats?mine=1", bob).json()["chats"][0]["chat_id"] == chat_id


def test_redis_restart_keeps_queues_and_ownership(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path / "redis").start()
    try:
        with running_handoff(server.url) as handoff:
            alice = online(handoff, "alice")
            chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
            waiting = handoff.escalate("15550000009").json()["chat_id"]
            server.stop()
            assert requests.get(handoff.url + "/health", timeout=10).status_code == 503
            server.start()
            assert requests.get(handoff.url + "/health", timeout=10).status_code == 200
            assert handoff.api("GET", f"/api/chats/{chat_id}", alice).json()["chat"]["agent"] == "alice"
            assert handoff.api("GET", f"/api/chats/{waiting}", alice).json()["chat"]["agent"] == "alice"
            resolved = handoff.api("POST", f"/api/chats/{chat_id}/resolve", alice, json={"resolution": "ok"})
            assert resolved.status_code == 200
            assert handoff.service.chats.owner(CUSTOMER)["state"] == "bot"
    finally:
        server.stop()
