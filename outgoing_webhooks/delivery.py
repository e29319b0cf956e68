"""Delivering webhooks: at least once, signed, retried with backoff, logged, dead-lettered.

Each delivery is POSTed as JSON with
- `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body, keyed with the subscription's secret>`, as Meta
  signs its own webhooks (whatsapp_cloud/webhooks/signature.py makes both);
- `Idempotency-Key` (also the body's `id`): the event id and the subscription, the same on every attempt and
  re-send, so the receiver drops repeats;
- `X-Webhook-Event`: the event type.
A 2xx answer delivers it. Anything else (another status, a timeout, a refused connection) schedules the next
attempt after a backoff doubling from OUTGOING_WEBHOOKS_BACKOFF_SECONDS (with jitter, at most
OUTGOING_WEBHOOKS_BACKOFF_MAX_SECONDS) in a sorted set, from which due attempts return to the stream; after
OUTGOING_WEBHOOKS_MAX_ATTEMPTS attempts, or once the first is OUTGOING_WEBHOOKS_MAX_AGE_HOURS old, the delivery
goes to the dead letters, from where an operator re-sends it. A target that is not a public address is
dead-lettered at once (targets.py); the request goes to the address checked (posting.py). Every attempt
is written to the subscription's log. Redirects are not followed. A delivery is acknowledged only after its
outcome is stored, so a crash repeats an attempt rather than losing it (the idempotency key makes the repeat
harmless).
"""

import json
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple

import redis

from outgoing_webhooks import keys, lua
from outgoing_webhooks.posting import PostFailed, post
from outgoing_webhooks.settings import WebhookSettings
from outgoing_webhooks.subscriptions import Subscriptions
from outgoing_webhooks.targets import TargetRefused, check_target
from whatsapp_cloud.redis_connection import transaction
from whatsapp_cloud.redis_values import as_text
from whatsapp_cloud.webhooks import signature

USER_AGENT = "whatsapp-care-webhooks/1"

logger = logging.getLogger(__name__)


def backoff(attempt: int, settings: WebhookSettings, rand: Callable[[], float] = random.random) -> float:
    """Seconds before attempt `attempt + 1`: doubling from the base, capped, with up to half of it as jitter
    (so receivers that failed together are not all retried at the same instant)."""
    full = min(settings.backoff_max_seconds, settings.backoff_seconds * 2 ** (attempt - 1))
    return full * (0.5 + rand() / 2)


def headers(body: bytes, secret: str, key: str, event_type: str) -> Dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": USER_AGENT,
            signature.HEADER: signature.sign(body, secret), "Idempotency-Key": key, "X-Webhook-Event": event_type}


class Deliverer:
    def __init__(self, store: redis.Redis, settings: WebhookSettings, consumer: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.consumer = consumer
        self.clock = clock
        self.subscriptions = Subscriptions(store)
        self._promote = store.register_script(lua.PROMOTE_DUE)
        self._resend = store.register_script(lua.RESEND)

    def ensure_group(self) -> None:
        try:
            self.store.xgroup_create(keys.DELIVERIES, keys.DELIVERIES_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def step(self, block_ms: Optional[int] = 1000, count: int = 20) -> int:
        """One round: due retries back into the stream, then one batch of deliveries attempted."""
        self._promote(keys=[keys.RETRIES, keys.DELIVERIES], args=[repr(self.clock()), 100])
        entries = self._read("0", count, None) or self._claimed(count) or self._read(">", count, self._wait(block_ms))
        if len(entries) > 1 and self.settings.concurrency > 1:
            # Attempts in parallel: one slow receiver costs the batch one timeout, not one per delivery.
            with ThreadPoolExecutor(min(self.settings.concurrency, len(entries))) as pool:
                list(pool.map(lambda item: self.attempt(*item), entries))
        else:
            for entry_id, fields in entries:
                self.attempt(entry_id, fields)
        return len(entries)

    def _wait(self, block_ms: Optional[int]) -> Optional[int]:
        """Wait for new deliveries at most until the next retry is due."""
        if block_ms is None:
            return None
        nxt = self.store.zrange(keys.RETRIES, 0, 0, withscores=True)
        if nxt:
            block_ms = min(block_ms, max(1, int((nxt[0][1] - self.clock()) * 1000)))
        return block_ms

    def attempt(self, entry_id: str, fields: Dict[str, str]) -> bool:
        sid, attempt = fields["subscription"], int(fields.get("attempt") or 1)
        key = json.loads(fields["body"])["id"]
        target = self.store.hmget(keys.subscription(sid), "url", "secret")
        if target[0] is None or target[1] is None:  # deleted since: nobody to deliver to
            self._done(entry_id)
            return False
        url, secret = as_text(target[0]), as_text(target[1])
        raw = fields["body"].encode()
        started = time.monotonic()
        status, error, permanent = 0, "", False
        try:
            target = check_target(url, self.settings.allow_private)
            status = post(target, raw, headers(raw, secret, key, fields["type"]), self.settings.timeout_seconds)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except TargetRefused as exc:
            error, permanent = str(exc), True
        except PostFailed as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        ok = not error
        now = self.clock()
        logged = {"key": key, "event_id": fields["event_id"], "type": fields["type"], "attempt": attempt,
                  "at": now, "ok": ok, "status": status, "error": error,
                  "ms": round((time.monotonic() - started) * 1000)}
        with transaction(self.store, keys.DELIVERIES) as pipe:
            pipe.lpush(keys.log(sid), json.dumps(logged))
            pipe.ltrim(keys.log(sid), 0, keys.LOG_MAX - 1)
            if not ok:
                too_old = now - float(fields["first_at"]) >= self.settings.max_age_seconds
                if permanent or attempt >= self.settings.max_attempts or too_old:
                    reason = error if permanent else f"gave up after {attempt} attempts: {error}"
                    pipe.xadd(keys.DEAD, {**fields, "reason": reason, "failed_at": repr(now)},
                              maxlen=keys.DEAD_MAX, approximate=True)
                    logger.warning("webhook %s to subscription %s dead-lettered: %s", key, sid, reason)
                else:
                    again = {**fields, "attempt": str(attempt + 1)}
                    pipe.zadd(keys.RETRIES, {json.dumps(again, sort_keys=True): now + backoff(attempt, self.settings)})
            pipe.xack(keys.DELIVERIES, keys.DELIVERIES_GROUP, entry_id)
            pipe.xdel(keys.DELIVERIES, entry_id)
            pipe.execute()
        return ok

    def dead_letters(self, count: int = 100) -> List[Dict[str, Any]]:
        """The newest dead letters first, without their bodies' bytes repeated as text twice."""
        found = self.store.xrevrange(keys.DEAD, count=count)
        return [{"id": as_text(i), **{as_text(k): as_text(v) for k, v in f.items()}} for i, f in found]

    def resend(self, dead_id: str) -> bool:
        """A dead letter back into the stream as a first attempt (same body and key); False when there is none."""
        return bool(self._resend(keys=[keys.DEAD, keys.DELIVERIES], args=[dead_id, repr(self.clock())]))

    def _done(self, entry_id: str) -> None:
        with transaction(self.store, keys.DELIVERIES) as pipe:
            pipe.xack(keys.DELIVERIES, keys.DELIVERIES_GROUP, entry_id)
            pipe.xdel(keys.DELIVERIES, entry_id)
            pipe.execute()

    def _read(self, start: str, count: int, block_ms: Optional[int]) -> List[Tuple[str, Dict[str, str]]]:
        answer = self.store.xreadgroup(keys.DELIVERIES_GROUP, self.consumer, {keys.DELIVERIES: start}, count=count,
                                       block=block_ms)
        return [(as_text(i), _decoded(f)) for _, items in answer or [] for i, f in items if f]

    def _claimed(self, count: int) -> List[Tuple[str, Dict[str, str]]]:
        # A delivery a dead worker held longer than a request can take is attempted again.
        idle_ms = int(max(60.0, 3 * self.settings.timeout_seconds) * 1000)
        answer = self.store.xautoclaim(keys.DELIVERIES, keys.DELIVERIES_GROUP, self.consumer, idle_ms, count=count)
        return [(as_text(i), _decoded(f)) for i, f in answer[1] if f]


def _decoded(fields: Dict[Any, Any]) -> Dict[str, str]:
    return {as_text(k): as_text(v) for k, v in fields.items()}
