"""Outgoing webhooks from the event stream to a receiver the test runs, over real HTTP with a real Redis:
signed like Meta's, with an idempotency key; retried with backoff to one logical delivery; dead-lettered
after the last attempt and re-sent; never sent to a private address unless the setting allows it."""

import threading
import time
from dataclasses import replace
from typing import Tuple

import pytest
import redis

from outgoing_webhooks import keys
from outgoing_webhooks.delivery import Deliverer, backoff
from outgoing_webhooks.fanout import Fanout
from outgoing_webhooks.posting import post
from outgoing_webhooks.settings import WebhookSettings
from outgoing_webhooks.subscriptions import Subscriptions
from outgoing_webhooks.targets import Target, TargetRefused, check_target
from outgoing_webhooks.worker import main
from tests.support.webhook_receiver import Receiver
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import entry
from whatsapp_cloud.webhooks import signature

FAST = WebhookSettings(max_attempts=3, backoff_seconds=0.05, backoff_max_seconds=0.1, timeout_seconds=5,
                       allow_private=True)
CUSTOMER = "15554440201"


def parts(redis_url: str, settings: WebhookSettings = FAST) -> Tuple[redis.Redis, Fanout, Deliverer]:
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    fanout, deliverer = Fanout(store, "test"), Deliverer(store, settings, "test")
    fanout.ensure_group()  # before the events: a new group starts at the stream's end
    deliverer.ensure_group()
    return store, fanout, deliverer


def happen(store: redis.Redis, kind: str, **fields: str) -> str:
    return store.xadd(redis_keys.EVENT_STREAM, entry(kind, **fields))


def run_until(deliverer: Deliverer, done, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "not delivered in time"
        deliverer.step(block_ms=20)


def test_a_subscriber_gets_its_events_signed_with_an_idempotency_key(redis_url: str, receiver: Receiver) -> None:
    store, fanout, deliverer = parts(redis_url)
    made = Subscriptions(store).create(receiver.url, ["consent.opted_in", "chat.resolved"], "CRM")
    opted_in = happen(store, kinds.CONSENT, recipient=CUSTOMER, status="in", source="website",
                      scopes="utility,marketing")
    happen(store, kinds.CONSENT, recipient=CUSTOMER, status="out", source="keyword", scopes="marketing")  # not chosen
    happen(store, kinds.INBOUND, wamid="wamid.1", sender=CUSTOMER, type="text")  # internal: never published
    resolved = happen(store, kinds.HANDOFF_TRANSITION, customer=CUSTOMER, **{"from": "agent"}, to="bot",
                      chat_id="c1", agent="alice", why="resolved", team="orders")
    assert fanout.step(block_ms=None) == 4
    run_until(deliverer, lambda: len(receiver.got) == 2)
    first, second = sorted(receiver.got, key=lambda got: got.json["type"] != "consent.opted_in")
    for got in receiver.got:  # Meta's signature scheme, keyed with the subscription's secret
        assert got.headers["X-Hub-Signature-256"] == signature.sign(got.body, made["secret"])
        assert got.headers["Content-Type"] == "application/json"
        assert made["secret"] not in got.body.decode()
    assert first.headers["Idempotency-Key"] == f"{opted_in}.{made['id']}" == first.json["id"]
    assert first.headers["X-Webhook-Event"] == "consent.opted_in"
    assert first.json["data"] == {"wa_id": CUSTOMER, "source": "website", "scopes": ["utility", "marketing"]}
    assert second.json["type"] == "chat.resolved" and second.json["event_id"] == resolved
    assert second.json["data"] == {"chat_id": "c1", "wa_id": CUSTOMER, "team": "orders", "agent": "alice"}
    log = Subscriptions(store).log(made["id"])
    assert sorted((e["type"], e["ok"], e["status"]) for e in log) == [("chat.resolved", True, 200),
                                                                      ("consent.opted_in", True, 200)]
    assert store.xlen(keys.DELIVERIES) == 0 and store.zcard(keys.RETRIES) == 0


def test_a_failing_receiver_gets_retries_of_one_logical_delivery(redis_url: str, receiver: Receiver) -> None:
    """Run by the worker's own loops (two threads, as in its process)."""
    store, _, _ = parts(redis_url)
    made = Subscriptions(store).create(receiver.url, ["campaign.finished"])
    receiver.statuses = [500, 503]
    stop = threading.Event()
    worker = threading.Thread(target=main, args=({"REDIS_URL": redis_url, "OUTGOING_WEBHOOKS_ALLOW_PRIVATE": "true",
                                                  "OUTGOING_WEBHOOKS_BACKOFF_SECONDS": "0.05"}, stop))
    worker.start()
    try:
        happen(store, kinds.CAMPAIGN_STATE, campaign="k1", previous="sending", to="completed")
        deadline = time.monotonic() + 10
        while len(receiver.got) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        worker.join(5)
    assert len(receiver.got) == 3
    assert len({got.headers["Idempotency-Key"] for got in receiver.got}) == 1
    assert len({got.body for got in receiver.got}) == 1
    assert receiver.got[0].json["data"] == {"campaign_id": "k1", "state": "completed"}
    log = Subscriptions(store).log(made["id"])
    assert [(e["attempt"], e["ok"], e["status"]) for e in reversed(log)] == [(1, False, 500), (2, False, 503),
                                                                             (3, True, 200)]


def test_after_the_last_attempt_it_is_a_dead_letter_and_can_be_sent_again(redis_url: str,
                                                                          receiver: Receiver) -> None:
    store, fanout, deliverer = parts(redis_url)
    made = Subscriptions(store).create(receiver.url, ["csat.received"])
    receiver.statuses = [500, 500, 500]
    happen(store, kinds.CSAT, customer=CUSTOMER, score="4", topic="handoff")
    fanout.step(block_ms=None)
    run_until(deliverer, lambda: store.xlen(keys.DEAD) == 1)
    assert len(receiver.got) == 3
    [dead] = deliverer.dead_letters()
    assert dead["reason"] == "gave up after 3 attempts: HTTP 500" and dead["subscription"] == made["id"]
    assert deliverer.resend(dead["id"]) and not deliverer.resend(dead["id"])  # once
    run_until(deliverer, lambda: len(receiver.got) == 4)
    assert receiver.got[3].body == receiver.got[0].body
    assert receiver.got[3].headers["Idempotency-Key"] == receiver.got[0].headers["Idempotency-Key"]
    assert receiver.got[3].json["data"] == {"wa_id": CUSTOMER, "score": 4, "topic": "handoff"}
    assert store.xlen(keys.DEAD) == 0 and Subscriptions(store).log(made["id"])[0]["ok"] is True


def test_a_private_target_is_refused_unless_the_setting_allows_it(redis_url: str, receiver: Receiver) -> None:
    store, fanout, deliverer = parts(redis_url, replace(FAST, allow_private=False))
    Subscriptions(store).create(receiver.url, ["ticket.created"])
    happen(store, kinds.TICKET_OPENED, ticket="7", customer=CUSTOMER, ticket_kind="complaint")
    fanout.step(block_ms=None)
    deliverer.step(block_ms=None)
    [dead] = deliverer.dead_letters()
    assert "127.0.0.1" in dead["reason"] and "not a public address" in dead["reason"]
    assert receiver.got == []  # refused before any connection, and not retried
    for private in ("http://10.1.2.3/", "http://169.254.169.254/latest/meta-data", "http://[::1]:8080/",
                    "http://192.168.0.10/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/"):
        with pytest.raises(TargetRefused):
            check_target(private, allow_private=False)
    check_target("https://93.184.215.14/hooks", allow_private=False)  # a public address
    check_target("http://127.0.0.1/", allow_private=True)


def test_a_slow_receiver_holds_up_a_batch_for_one_request_not_one_per_delivery(redis_url: str,
                                                                               receiver: Receiver) -> None:
    store, fanout, deliverer = parts(redis_url)
    Subscriptions(store).create(receiver.url, ["consent.opted_out"])
    for n in range(4):
        happen(store, kinds.CONSENT, recipient=f"1555444030{n}", status="out", source="keyword", scopes="marketing")
    fanout.step(block_ms=None)
    receiver.delay = 0.4
    started = time.monotonic()
    assert deliverer.step(block_ms=None) == 4
    assert len(receiver.got) == 4 and time.monotonic() - started < 1.2  # one after another: 1.6 s at least


def test_the_request_goes_to_the_address_checked_with_the_name_in_host(receiver: Receiver) -> None:
    """No second DNS lookup: a name checked as one address is connected to at that address (no rebinding)."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    target = Target("http", "crm.example.com", port, "127.0.0.1", "/hooks?tenant=7")
    assert post(target, b"{}", {"Content-Type": "application/json"}, timeout=5) == 200
    [got] = receiver.got
    assert got.headers["Host"] == f"crm.example.com:{port}" and got.path == "/hooks?tenant=7"
    assert Target("https", "crm.example.com", 443, "93.184.215.14", "/").host_header == "crm.example.com"


def test_the_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    settings = WebhookSettings(backoff_seconds=10, backoff_max_seconds=60)
    assert [backoff(n, settings, rand=lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    assert backoff(2, settings, rand=lambda: 0.0) == 10
