"""Privacy requests from the chat as tickets in a real Redis: listed oldest first, closed by the export (a copy)
and removed by the erasure itself; queued erasures are carried out once due, never during a turn of Rasa's,
and left to an administrator while the customer has an open chat."""

import json
import logging
from pathlib import Path
from typing import Iterator

import pytest
import redis

from privacy import requests, tickets
from privacy.__main__ import main as privacy_command
from privacy.identity import Subject
from privacy.queued_erasures import QueuedErasures
from privacy.stores import LOCK_PREFIX, TRACKER_PREFIX
from shop.db import engine_for
from stack import handoff_keys
from whatsapp_cloud.policy.config import PolicyConfig

WA, OTHER = "4915112347777", "4915112348888"
HASH_KEY = "tickets-test-key"


@pytest.fixture()
def stores(redis_url: str, tmp_path: Path) -> Iterator[requests.Stores]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    (tmp_path / "media").mkdir()
    yield requests.Stores(redis=client, shop=engine_for(f"sqlite:///{tmp_path / 'app.db'}", seed=False),
                          media_dir=tmp_path / "media", policy=PolicyConfig(hash_key=HASH_KEY))
    client.close()


def subject(wa_id: str = WA) -> Subject:
    return Subject.of(wa_id, HASH_KEY)


def chatted(client: redis.Redis, wa_id: str = WA) -> None:
    client.set(TRACKER_PREFIX + wa_id, json.dumps({"sender_id": wa_id, "events": [{"event": "user", "text": "hi"}]}))


def test_tickets_are_listed_oldest_first_and_asking_again_keeps_the_first_time(stores: requests.Stores) -> None:
    tickets.record(stores.redis, subject(OTHER), tickets.COPY, now=200.0)
    tickets.record(stores.redis, subject(WA), tickets.ERASE, now=100.0)
    again = tickets.record(stores.redis, subject(WA), tickets.ERASE, now=300.0)
    assert again.requested_at == 100.0
    assert [(t.kind, t.wa_id) for t in tickets.listed(stores.redis)] == [("erase", WA), ("copy", OTHER)]
    with pytest.raises(ValueError):
        tickets.record(stores.redis, subject(WA), "sell")


def test_the_erasure_removes_the_customers_tickets_and_nobody_elses(stores: requests.Stores) -> None:
    tickets.record(stores.redis, subject(WA), tickets.ERASE)
    tickets.record(stores.redis, subject(WA), tickets.COPY)
    tickets.record(stores.redis, subject(OTHER), tickets.ERASE)
    receipt = requests.erase(stores, subject(WA), by="ada", rewrite_aof=False)
    assert receipt["redis"]["privacy requests"] == {"keys": 2, "members": 2}
    assert [t.wa_id for t in tickets.listed(stores.redis)] == [OTHER]
    assert not [k for k in stores.redis.scan_iter() if WA in k or WA in str(stores.redis.dump(k))]


def test_the_export_closes_the_customers_request_for_a_copy(stores: requests.Stores) -> None:
    tickets.record(stores.redis, subject(WA), tickets.COPY)
    tickets.record(stores.redis, subject(WA), tickets.ERASE)
    document = requests.export(stores, subject(WA))
    assert any(k["store"] == "privacy requests" for k in document["redis"]["keys"])  # the export shows it
    assert [t.kind for t in tickets.listed(stores.redis)] == ["erase"]


def test_a_queued_erasure_waits_until_due_and_for_rasas_turn_then_is_carried_out(
        stores: requests.Stores, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    chatted(stores.redis)
    tickets.record(stores.redis, subject(WA), tickets.ERASE, due_at=1000.0)
    tickets.record(stores.redis, subject(OTHER), tickets.ERASE)  # for an administrator: never automatic
    erasures = QueuedErasures(stores)
    assert erasures.run(now=999.0) == 0 and stores.redis.exists(TRACKER_PREFIX + WA)
    stores.redis.set(LOCK_PREFIX + WA, "rasa is handling a message")
    assert erasures.run(now=1001.0) == 0 and stores.redis.exists(TRACKER_PREFIX + WA)
    assert erasures.run(now=1059.0) == 0
    stores.redis.delete(LOCK_PREFIX + WA)
    assert erasures.run(now=1002.0) == 1
    assert not stores.redis.exists(TRACKER_PREFIX + WA)
    assert [(t.wa_id, t.state) for t in tickets.listed(stores.redis)] == [(OTHER, tickets.OPEN)]
    [receipt] = stores.redis.xrange(requests.RECEIPTS)
    assert json.loads(receipt[1]["receipt"])["by"] == "the customer, in the WhatsApp chat"
    assert any("queued erasure" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if WA in r.getMessage()]  # named by the keyed hash only


def test_a_customer_with_an_open_chat_is_left_to_an_administrator(stores: requests.Stores) -> None:
    chatted(stores.redis)
    stores.redis.rpush(handoff_keys.customer_chats(WA), "chat-1")
    stores.redis.zadd(handoff_keys.ALL_OPEN, {"chat-1": 1.0})
    tickets.record(stores.redis, subject(WA), tickets.ERASE, due_at=0.5)
    assert QueuedErasures(stores).run(now=10.0) == 0
    [ticket] = tickets.listed(stores.redis)
    assert ticket.state == tickets.OPEN and "open chat" in ticket.note
    assert stores.redis.exists(TRACKER_PREFIX + WA)


def test_the_command_lists_the_requests(stores: requests.Stores, redis_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    tickets.record(stores.redis, subject(WA), tickets.ERASE, now=1_700_000_000.0)
    for name, value in {"REDIS_URL": redis_url, "VAR_DIR": str(tmp_path), "SHOP_DEMO_DATA": "false",
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "PRIVACY_HASH_KEY": HASH_KEY}.items():
        monkeypatch.setenv(name, value)
    assert privacy_command(["requests"]) == 0
    assert capsys.readouterr().out.split() == ["2023-11-14T22:13:20+00:00", "erase", WA, "open"]


def test_a_lock_left_over_from_a_crash_holds_the_erasure_up_a_minute_at_most(stores: requests.Stores) -> None:
    chatted(stores.redis)
    stores.redis.set(LOCK_PREFIX + WA, "left by a worker that died")
    tickets.record(stores.redis, subject(WA), tickets.ERASE, due_at=1000.0)
    assert QueuedErasures(stores).run(now=1030.0) == 0
    assert QueuedErasures(stores).run(now=1061.0) == 1
    assert not stores.redis.exists(TRACKER_PREFIX + WA) and not stores.redis.exists(LOCK_PREFIX + WA)

