"""The retention sweep on a real Redis, with records written by the real components (Rasa's RedisTrackerStore,
the handoff's ChatStore, the event log, the delivery status) and a media directory: the clock is moved past
each limit in turn, and each time exactly that store's old records go while the others, an open chat and the
analytics aggregates stay."""

import asyncio
import time
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from analytics import keys as analytics_keys
from handoff.state import ChatStore, Escalation
from privacy.sweep import LEASE, Sweeper, _delete_where, _tracker_last_at, sweep
from stack import components, handoff_keys
from stack.age_limits import DAY, AgeLimits
from stack.setting_values import ConfigError
from tests.support.handoff_env import running_handoff
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus

WA = "4915112340088"
WAITING = "4915112340089"  # still in the queue when every limit has passed
WAMID = "wamid.HBgNNDkxNTExMjM0MDA4OBUCABEYEjk5QUY2RUQ0"
LIMITS = AgeLimits(trackers=2 * DAY, transcripts=3 * DAY, events=4 * DAY, delivery_records=5 * DAY,
                   media=6 * DAY)
AGGREGATE = analytics_keys.day("2026-12-01")


async def bot_records(url: str) -> None:
    store = aioredis.Redis.from_url(url, decode_responses=True)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    trackers = RedisTrackerStore(Domain.empty(), host="127.0.0.1", port=port, key_prefix="wabot")
    await trackers.save(DialogueStateTracker.from_events(WA, [ActionExecuted("action_listen"),
                                                               UserUttered("where is my order?")]))
    await EventLog(store).record(kinds.INBOUND, wamid=WAMID, sender=WA, type="text")
    await DeliveryStatus(store).record_sent(WAMID, WA, kind="text")
    await store.close()


def handoff_records(client: redis.Redis) -> tuple:
    chats = ChatStore(client)
    resolved = chats.escalate(Escalation(WA, "Mia", "customer_request", "human_handoff", {}, "a person"),
                              "orders", time.time() + 3600)[0]
    chats.claim(resolved, "alice", capacity=5)
    chats.add_message(resolved, {"kind": "agent", "text": "Your parcel is on its way", "by": "alice"}, agent="alice")
    chats.resolve(resolved, "alice", "answered")
    waiting = chats.escalate(Escalation(WAITING, "Leo", "customer_request", "human_handoff", {}, "a person"),
                             "orders", time.time() + 3600)[0]
    return resolved, waiting


@pytest.fixture()
def stores(redis_url: str, tmp_path: Path):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    asyncio.run(bot_records(redis_url))
    resolved, waiting = handoff_records(client)
    client.hset(AGGREGATE, "conversations", 1)
    media = tmp_path / "media"
    media.mkdir()
    (media / "invoice.pdf").write_bytes(b"%PDF-1.4")
    yield client, media, resolved, waiting
    client.close()


def present(client: redis.Redis, media: Path, resolved: str) -> dict:
    return {
        "tracker": bool(client.exists(f"wabot:tracker:{WA}")),
        "chat": bool(client.exists(handoff_keys.chat(resolved), handoff_keys.messages(resolved))),
        "feed": client.xlen(handoff_keys.FEED) > 0,
        "events": client.xlen(redis_keys.EVENT_STREAM) > 0,
        "delivery record": bool(client.exists(redis_keys.outbound_message(WAMID))),
        "invoice": (media / "invoice.pdf").exists(),
    }


def test_each_store_loses_its_records_once_the_clock_passes_its_limit(stores) -> None:
    client, media, resolved, waiting = stores
    start = time.time()
    everything = dict.fromkeys(("tracker", "chat", "feed", "events", "delivery record", "invoice"), True)
    assert present(client, media, resolved) == everything

    assert sum(sweep(client, media, LIMITS, start + 2 * DAY - 60).values()) == 0  # not yet past any limit
    assert present(client, media, resolved) == everything

    steps = [(2, "tracker", "rasa trackers"), (3, "chat", "handoff chats"), (4, "events", "events"),
             (5, "delivery record", "delivery records"), (6, "invoice", "media files")]
    gone = set()
    for days, record, store in steps:
        counts = sweep(client, media, LIMITS, start + days * DAY + 60)
        assert counts[store] >= 1, (store, counts)
        gone.add(record)
        if record == "chat":
            gone.add("feed")  # the inbox feed's entries follow the transcripts' limit
        assert present(client, media, resolved) == {name: name not in gone for name in everything}, days

    assert client.hget(handoff_keys.chat(waiting), "state") == "queued"  # an open chat is never swept
    assert client.hgetall(AGGREGATE) == {"conversations": "1"}  # aggregates outlive the raw data


def test_a_tracker_written_while_the_sweep_looks_at_it_is_kept(stores) -> None:
    client, _, _, _ = stores
    key = f"wabot:tracker:{WA}"
    other = redis.Redis(connection_pool=client.connection_pool)

    def old_but_a_turn_saves_it_meanwhile(pipe, name):  # Rasa saves the tracker between read and delete
        last = _tracker_last_at(pipe, name)
        other.set(name, other.get(name) or "")
        return last

    cutoff = time.time() + LIMITS.trackers + 60
    assert _delete_where(client, "wabot:tracker:*", old_but_a_turn_saves_it_meanwhile, cutoff) == 0
    assert client.exists(key)
    assert _delete_where(client, "wabot:tracker:*", _tracker_last_at, cutoff) == 1  # the same, undisturbed
    assert not client.exists(key)


def test_one_sweep_per_interval_among_all_processes(stores) -> None:
    client, media, _, _ = stores
    first, second = Sweeper(client, media, LIMITS), Sweeper(client, media, LIMITS)
    assert first.run_if_due() is not None
    assert second.run_if_due() is None  # the lease is held for the interval
    assert 0 < client.ttl(LEASE) <= LIMITS.sweep_every


def test_the_limits_come_from_the_settings() -> None:
    limits = components.age_limits({"RASA_TRACKER_EXPIRY_DAYS": "7", "HANDOFF_RETENTION_DAYS": "14",
                                    "WHATSAPP_EVENTS_RETENTION_DAYS": "60", "WHATSAPP_DELIVERY_RECORDS_DAYS": "10",
                                    "MEDIA_RETENTION_DAYS": "0.5", "RETENTION_SWEEP_MINUTES": "15"})
    assert limits == AgeLimits(trackers=7 * DAY, transcripts=14 * DAY, events=60 * DAY, delivery_records=10 * DAY,
                               media=DAY // 2, sweep_every=900)
    assert components.age_limits({}) == AgeLimits()
    with pytest.raises(ConfigError, match="MEDIA_RETENTION_DAYS"):
        components.age_limits({"MEDIA_RETENTION_DAYS": "forever"})


def test_the_handoff_service_runs_the_sweep_in_the_background(redis_url: str, tmp_path: Path) -> None:
    with running_handoff(redis_url, HANDOFF_BACKGROUND="true", MEDIA_DIR=str(tmp_path)) as handoff:
        client = handoff.service.redis
        deadline = time.monotonic() + 60
        while not client.exists(LEASE) and time.monotonic() < deadline:
            time.sleep(0.2)  # the background's first round starts after its first tick
        assert client.exists(LEASE)
        handoff.app.extensions["background_stop"].set()  # no loop outlives the test, on the shared Redis
        for thread in handoff.app.extensions["background"]:
            thread.join(timeout=30)
            assert not thread.is_alive()
