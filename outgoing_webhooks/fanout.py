"""From the event stream to deliveries: each entry of `wa:events` of a public type becomes one delivery per
subscription that chose it, with its body frozen now (so every retry sends the same bytes).

`wa:events` is read by the consumer group `outgoing-webhooks`, whose last-delivered id is the cursor; a new
group starts at the stream's end (subscribers get what happens from then on, not the backlog). An entry's
deliveries and its acknowledgement are written in one transaction: after a crash the entry is read again
and its deliveries are written once. Entries left pending by a dead worker are claimed after a minute.
"""

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Tuple

import redis

from outgoing_webhooks import keys
from outgoing_webhooks.event_types import public_events
from outgoing_webhooks.subscriptions import Subscriptions
from whatsapp_cloud import redis_keys
from whatsapp_cloud.redis_connection import transaction
from whatsapp_cloud.redis_values import as_text

CLAIM_IDLE_MS = 60_000

logger = logging.getLogger(__name__)


def idempotency_key(event_id: str, sid: str) -> str:
    """The same for every attempt and re-send of one event to one subscription: the receiver drops repeats."""
    return f"{event_id}.{sid}"


def body(event_id: str, sid: str, event_type: str, fields: Mapping[str, str], data: Dict[str, Any]) -> str:
    at = float(fields.get("at") or time.time())
    return json.dumps({"id": idempotency_key(event_id, sid), "type": event_type, "event_id": event_id,
                       "occurred_at": datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds"),
                       "data": data}, separators=(",", ":"), sort_keys=True)


class Fanout:
    def __init__(self, store: redis.Redis, consumer: str, stream: str = redis_keys.EVENT_STREAM) -> None:
        self.store = store
        self.consumer = consumer
        self.stream = stream
        self.subscriptions = Subscriptions(store)

    def ensure_group(self) -> None:
        try:
            self.store.xgroup_create(self.stream, keys.EVENTS_GROUP, id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def step(self, block_ms: int = 1000, count: int = 100) -> int:
        """Fan out one batch: this consumer's pending entries first, then others' stale ones, then new ones."""
        entries = self._read("0", count, None) or self._claimed(count) or self._read(">", count, block_ms)
        for event_id, fields in entries:
            self._fan_out(event_id, fields)
        return len(entries)

    def _read(self, start: str, count: int, block_ms: Any) -> List[Tuple[str, Dict[str, str]]]:
        answer = self.store.xreadgroup(keys.EVENTS_GROUP, self.consumer, {self.stream: start}, count=count,
                                       block=block_ms)
        return [(as_text(i), _decoded(f)) for _, items in answer or [] for i, f in items if f]

    def _claimed(self, count: int) -> List[Tuple[str, Dict[str, str]]]:
        answer = self.store.xautoclaim(self.stream, keys.EVENTS_GROUP, self.consumer, CLAIM_IDLE_MS, count=count)
        return [(as_text(i), _decoded(f)) for i, f in answer[1] if f]

    def _fan_out(self, event_id: str, fields: Dict[str, str]) -> None:
        now = repr(time.time())
        with transaction(self.store, keys.DELIVERIES) as pipe:
            for event_type, data in public_events(fields):
                for sid in self.subscriptions.subscribed(event_type):
                    pipe.xadd(keys.DELIVERIES, {"subscription": sid, "event_id": event_id, "type": event_type,
                                                "body": body(event_id, sid, event_type, fields, data),
                                                "first_at": now, "attempt": "1"})
            pipe.xack(self.stream, keys.EVENTS_GROUP, event_id)
            pipe.execute()


def _decoded(fields: Mapping[Any, Any]) -> Dict[str, str]:
    return {as_text(k): as_text(v) for k, v in fields.items()}
