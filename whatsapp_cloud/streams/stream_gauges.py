"""Stream length and consumer-group lag as Prometheus gauges, read from Redis when metrics are scraped.

Each process that serves /metrics refreshes them just before answering, so every process shows the same
figures (a stream has one length, whoever reads it): the ingest process, each bot worker and the handoff
service. `pending` counts entries handed to a consumer and not yet acknowledged; `lag` counts entries
no consumer of the group has read yet (Redis 7's XINFO GROUPS `lag`; on Redis 6 the entries after the group's
last delivered id are counted, up to `LAG_COUNT_CAP`, so a scrape never reads a whole backlog).
"""

from typing import Any, Dict, Iterable, List

import redis.asyncio as aioredis
from prometheus_client import Gauge
from redis.exceptions import RedisError, ResponseError

from whatsapp_cloud import redis_keys

# The streams every /metrics reports: webhooks waiting for a worker, their dead letters, the event log.
MONITORED = (redis_keys.WEBHOOK_STREAM, redis_keys.WEBHOOK_DEAD, redis_keys.EVENT_STREAM)
LAG_COUNT_CAP = 1000
STREAM_LENGTH = Gauge("whatsapp_stream_length", "Entries in a Redis stream", ["stream"])
STREAM_PENDING = Gauge("whatsapp_stream_pending", "Entries read by a consumer group, not yet acknowledged",
                       ["stream", "group"])
STREAM_LAG = Gauge("whatsapp_stream_lag",
                   "Entries no consumer of the group has read yet (on Redis 6 counted up to 1000)",
                   ["stream", "group"])
STREAM_CONSUMERS = Gauge("whatsapp_stream_consumers", "Consumers a group has seen", ["stream", "group"])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def group_figures(groups: Iterable[Dict[Any, Any]]) -> List[Dict[str, Any]]:
    """XINFO GROUPS rows (bytes or str keys) as {name, pending, lag, consumers}."""
    rows = []
    for group in groups:
        row = {_text(key): value for key, value in group.items()}
        lag = row.get("lag")
        rows.append({"name": _text(row["name"]), "pending": int(row.get("pending") or 0),
                     "lag": None if lag is None else int(lag), "consumers": int(row.get("consumers") or 0),
                     "last_delivered": _text(row.get("last-delivered-id") or "0-0")})
    return rows


async def refresh(store: aioredis.Redis, streams: Iterable[str] = MONITORED) -> None:
    """Set the gauges of each stream; a stream Redis cannot answer for keeps its last figures."""
    for stream in streams:
        try:
            STREAM_LENGTH.labels(stream).set(await store.xlen(stream))
            groups = group_figures(await store.xinfo_groups(stream))
        except ResponseError:  # no such stream yet: nothing waits in it
            STREAM_LENGTH.labels(stream).set(0)
            continue
        except RedisError:
            continue
        for group in groups:
            if group["lag"] is None:
                try:
                    after = await store.xrange(stream, min=f"({group['last_delivered']}", count=LAG_COUNT_CAP)
                except RedisError:
                    continue
                group["lag"] = len(after)
            STREAM_PENDING.labels(stream, group["name"]).set(group["pending"])
            STREAM_LAG.labels(stream, group["name"]).set(group["lag"])
            STREAM_CONSUMERS.labels(stream, group["name"]).set(group["consumers"])
