"""Every Redis key the platform writes has an expiry, or is a capped stream or one of the few small keys
kept for good, and the README's retention table lists each one; streams stay within their bound."""

import asyncio
import re
import time
from datetime import datetime, timezone
from typing import Set

import pytest
import redis
import redis.asyncio as aioredis

from stack import components
from stack.setting_values import ConfigError
from stack.settings import ROOT
from tests.support.policy_harness import (
    CUSTOMER,
    OTHER,
    PHONE_ID,
    Harness,
    customer_message,
    failed_status,
    followup,
    order_update,
    scenario,
    text,
)
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.graph.errors import GraphApiError
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.retention import Retention
from whatsapp_cloud.streams.webhook_stream import WebhookStream
from whatsapp_cloud.webhooks import inbound

README = ROOT / "README.md"
STREAMS = {redis_keys.WEBHOOK_STREAM, redis_keys.EVENT_STREAM, redis_keys.DEAD_LETTERS, redis_keys.CONSENT_LOG,
           redis_keys.PRICING_LOG}
KEPT = {"{wa}:consent:*:*", "{wa}:pricing:spend", "{wa}:pricing:totals", "{wa}:pricing:totals:*",
        "{wa}:limit:reached", "{wa}:deferred:capacity", "{wa}:deferred:since", "{wa}:templates:status",
        "{wa}:templates:status-at", "{wa}:templates:category", "{wa}:templates:category-at"}


def family(key: str) -> str:
    """wa:out:wamid.HBg... -> wa:out:*, wa:windows:100000000000001:15551230001 -> wa:windows:*:*"""
    if key.startswith("wa:sent:"):  # an idempotency key is any text
        return "wa:sent:*"
    return re.sub(r"(?<=:)[^:]*\d[^:]*", "*", re.sub(r"wamid\.[^:]+", "*", key))


def documented() -> Set[str]:
    table = README.read_text().split("### Retention", 1)[1].split("\n### ", 1)[0]
    # `{wa_id}` is a placeholder; `{wa}` is the hash tag in the key's name (whatsapp_cloud/redis_keys.py).
    return {re.sub(r"\{(?!wa\})[^}]+\}", "*", name) for row in table.splitlines() if row.startswith("| `")
            for name in re.findall(r"`([^`]+)`", row.split("|")[1])}


def test_every_key_a_conversation_leaves_expires_or_is_bounded_and_documented(graph, redis_url):
    async def work(h: Harness) -> None:
        await h.opted_in()
        await h.opted_in(OTHER)
        await h.customer_wrote(hours_ago=30)
        await h.sender.deliver(text("waits for the customer"))
        await h.sender.deliver(text("reply request"), fallback=followup())
        await h.customer_wrote(hours_ago=30, to=OTHER)
        sent = await h.sender.deliver(text("Order shipped", to=OTHER), fallback=order_update())
        await h.hooks.on_status(failed_status(sent.result.wamid, 131050, to=OTHER))
        await h.hooks.on_inbound(customer_message(h, "hello", "wamid.in-1"))
        await h.hooks.on_inbound(customer_message(h, "STOP", "wamid.in-2"))
        await h.sender.dead_letters.add(text("x"), GraphApiError("refused", code=131026), "k", "test")
        await h.hooks.on_event(inbound.OtherChange("message_template_status_update", {
            "event": "PAUSED", "message_template_name": "order_update", "message_template_language": "en_US"},
            int(time.time())))

    scenario(graph, redis_url, work)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    families = {}
    for key in client.scan_iter():
        families.setdefault(family(key), []).append(key)
    assert families.keys() - documented() == set()  # every key written is in the README's table
    for name, keys in families.items():
        if name in STREAMS or name in KEPT:
            continue
        assert all(client.ttl(k) > 0 for k in keys), f"{name} has keys without an expiry"


def test_streams_stay_within_their_bound(redis_url):
    from tests.whatsapp_cloud.pricing.harness import customer_message
    from whatsapp_cloud.outbound.sender import DeadLetters
    from whatsapp_cloud.policy.store import SyncPolicyStore
    from whatsapp_cloud.pricing.cost_ledger import SyncCostLedger

    small = Retention(event_stream_max=10, dead_letters_max=10, consent_log_max=10, pricing_log_max=10)
    slack = 100  # approximate trimming (MAXLEN ~) removes whole nodes of about 100 entries

    async def go() -> None:
        store = aioredis.Redis.from_url(redis_url)
        events, dead = EventLog(store, max_length=small.event_stream_max), DeadLetters(store, small.dead_letters_max)
        for n in range(600):
            await events.record("test", n=n)
            await dead.add(text(f"m{n}"), GraphApiError("refused", code=131026), None, "test")
        await store.close()

    asyncio.run(go())
    client = redis.Redis.from_url(redis_url)
    consent = SyncPolicyStore(client, PolicyConfig(retention=small))
    ledger = SyncCostLedger(client, retention=small)
    for n in range(300):
        consent.record_consent(f"1555{n:07d}", "out", ("marketing",), "keyword", "STOP")
        ledger.record_inbound(customer_message(datetime.now(timezone.utc), wa_id=f"1555{n:07d}"))
    for stream in (redis_keys.EVENT_STREAM, redis_keys.DEAD_LETTERS, redis_keys.CONSENT_LOG, redis_keys.PRICING_LOG):
        assert 0 < client.xlen(stream) <= 10 + slack, stream


def test_a_handled_webhook_body_is_deleted_with_its_acknowledgement(redis_url):
    async def go() -> None:
        store = aioredis.Redis.from_url(redis_url)
        stream = WebhookStream(store, "test-1")
        await stream.ensure_group()
        first, second = await stream.append(b"{}"), await stream.append(b"{}")
        assert [e.id for e in await stream.new_entries(block_ms=10)] == [first, second]
        await stream.ack(first)
        assert [e[0].decode() for e in await store.xrange(redis_keys.WEBHOOK_STREAM)] == [second]
        assert (await store.xpending(redis_keys.WEBHOOK_STREAM, redis_keys.WEBHOOK_GROUP))["pending"] == 1
        await store.close()

    asyncio.run(go())


def test_the_windows_key_expires_after_its_last_window_ended(redis_url):
    from whatsapp_cloud.policy.store import SyncPolicyStore

    client = redis.Redis.from_url(redis_url)
    store = SyncPolicyStore(client, PolicyConfig(phone_number_id=PHONE_ID))
    wrote = store.now()
    store.record_inbound(CUSTOMER, wrote, from_referral=False)
    ttl = client.ttl(redis_keys.windows(CUSTOMER, PHONE_ID))
    assert 47 * 3600 < ttl <= 48 * 3600 + 1  # 24 h window + 24 h kept after it ended


def test_retention_settings_are_read_and_checked():
    assert components.retention({}) == Retention()
    custom = components.retention({"WHATSAPP_EVENTS_MAXLEN": "5000", "WHATSAPP_DEFERRED_MAX_AGE_HOURS": "1.5"})
    assert custom.event_stream_max == 5000 and custom.deferred_max_age_seconds == 5400
    for name, value in (("WHATSAPP_EVENTS_MAXLEN", "lots"), ("WHATSAPP_PRICING_STATE_DAYS", "0")):
        with pytest.raises(ConfigError, match=name):
            components.retention({name: value})


def test_rasa_conversations_expire_after_the_configured_days(redis_url, monkeypatch, tmp_path):
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import read_endpoint_config

    from stack import settings

    env = settings.resolve({"VAR_DIR": str(tmp_path), "ENV_FILE": "/none", "REDIS_URL": redis_url,
                            "RASA_TRACKER_EXPIRY_DAYS": "2"})
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # endpoints.yml takes its values from the resolved settings
    store = TrackerStore.create(read_endpoint_config("endpoints.yml", "tracker_store"), Domain.empty())
    asyncio.run(store.save(DialogueStateTracker.from_events(CUSTOMER, [])))
    [key] = redis.Redis.from_url(redis_url).keys("wabot*")
    assert 2 * 86400 - 10 < redis.Redis.from_url(redis_url).ttl(key) <= 2 * 86400
