"""Stream length, pending and consumer-group lag as gauges, read from a real Redis."""

import asyncio
import re

import prometheus_client
import redis.asyncio as aioredis

from whatsapp_cloud import metrics, redis_keys
from whatsapp_cloud.streams import stream_gauges


def figure(name: str, **labels: str) -> float:
    value = prometheus_client.REGISTRY.get_sample_value(name, labels)
    assert value is not None, (name, labels)
    return value


def test_length_pending_and_lag_of_the_webhook_stream(redis_url: str) -> None:
    async def scenario() -> None:
        store = aioredis.Redis.from_url(redis_url)
        stream, group = redis_keys.WEBHOOK_STREAM, redis_keys.WEBHOOK_GROUP
        await store.xgroup_create(stream, group, id="0", mkstream=True)
        for n in range(5):
            await store.xadd(stream, {"body": str(n)})
        await store.xreadgroup(group, "worker-1", {stream: ">"}, count=2)  # 2 pending, 3 not read yet
        await stream_gauges.refresh(store)
        assert figure("whatsapp_stream_length", stream=stream) == 5
        assert figure("whatsapp_stream_pending", stream=stream, group=group) == 2
        assert figure("whatsapp_stream_lag", stream=stream, group=group) == 3
        assert figure("whatsapp_stream_consumers", stream=stream, group=group) == 1
        assert figure("whatsapp_stream_length", stream=redis_keys.WEBHOOK_DEAD) == 0  # no such stream yet
        await store.close()

    asyncio.run(scenario())


def test_metric_names_types_and_labels() -> None:
    text = prometheus_client.generate_latest().decode()
    described = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    assert described["whatsapp_turn_seconds"] == "histogram"
    assert described["whatsapp_webhook_ack_seconds"] == "histogram"
    assert described["whatsapp_stream_lag"] == "gauge"
    assert described["whatsapp_stream_pending"] == "gauge"
    assert described["whatsapp_outbound_messages_total"] == "counter"
    assert described["whatsapp_policy_held_total"] == "counter"
    assert described["whatsapp_unanswered_turns_total"] == "counter"
    assert metrics.OUTBOUND._labelnames == ("result", "code")
    assert metrics.POLICY_HELD._labelnames == ("decision", "reason")
    assert stream_gauges.STREAM_LAG._labelnames == ("stream", "group")
