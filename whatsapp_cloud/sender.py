"""The outbound governor: every message to WhatsApp passes here.

It paces sends (per-number throughput, per-customer pair rate), retries what Meta calls
transient (5xx, 130429, 131056, timeouts) with backoff and jitter, never retries permanent
errors, sends each logical message at most once (idempotency key), and puts what cannot be
sent into a dead-letter stream with the reason, from where it can be inspected and re-sent.
"""

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import redis.asyncio as aioredis
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from whatsapp_cloud import metrics, redis_keys
from whatsapp_cloud.client import GraphApiClient, SendResult
from whatsapp_cloud.delivery_status import DeliveryStatus
from whatsapp_cloud.errors import GraphApiError
from whatsapp_cloud.event_log import EventLog
from whatsapp_cloud.redis_values import as_text
from whatsapp_cloud.throttle import TokenBucket

logger = logging.getLogger(__name__)

PAIR_RATE_CODE = 131056
IDEMPOTENCY_SECONDS = 8 * 24 * 3600


@dataclass(frozen=True)
class SenderSettings:
    throughput_per_second: float = 80.0
    pair_burst: float = 45.0
    pair_interval_seconds: float = 6.0
    max_attempts: int = 6
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 64.0


class OutboundSender:
    def __init__(
        self,
        client: GraphApiClient,
        store: aioredis.Redis,
        settings: Optional[SenderSettings] = None,
        statuses: Optional[DeliveryStatus] = None,
        events: Optional[EventLog] = None,
    ) -> None:
        self.client = client
        self.store = store
        self.settings = settings = settings or SenderSettings()
        self.statuses = statuses or DeliveryStatus(store)
        self.events = events or EventLog(store)
        self.dead_letters = DeadLetters(store)
        phone_id = client.config.phone_number_id
        self._number = TokenBucket(
            store, redis_keys.number_bucket(phone_id), settings.throughput_per_second, settings.throughput_per_second
        )

    async def send(
        self, payload: Dict[str, Any], *, key: Optional[str] = None, label: str = ""
    ) -> Optional[SendResult]:
        """Send one message; None when it went to the dead letters (the reason is logged there)."""
        recipient = str(payload.get("to") or payload.get("recipient") or "")
        if key:
            already = await self.store.get(redis_keys.outbound_idempotency(key))
            if already:
                metrics.OUTBOUND.labels("duplicate_skipped", "").inc()
                await self.events.record("outbound_duplicate_skipped", key=key, recipient=recipient)
                return SendResult(as_text(already), recipient, None)
        try:
            result = await self._send_with_retries(payload, recipient)
        except GraphApiError as exc:
            metrics.OUTBOUND.labels("dead", "" if exc.code is None else str(exc.code)).inc()
            await self.dead_letters.add(payload, exc, key=key, label=label)
            await self.events.record("outbound_dead", recipient=recipient, code=exc.code, label=label)
            logger.error("message to %s not sent (%s): %s", recipient, label or payload.get("type"), exc)
            return None
        if key:
            await self.store.set(redis_keys.outbound_idempotency(key), result.wamid, ex=IDEMPOTENCY_SECONDS)
        metrics.OUTBOUND.labels("sent", "").inc()
        await self.statuses.record_sent(result.wamid, recipient, type=str(payload.get("type", "text")), label=label)
        await self.events.record("outbound", wamid=result.wamid, recipient=recipient,
                                 type=payload.get("type", "text"), label=label)
        return result

    async def _send_with_retries(self, payload: Dict[str, Any], recipient: str) -> SendResult:
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, GraphApiError) and exc.retryable),
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=self._backoff,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                metrics.OUTBOUND_ATTEMPTS.inc()
                await self._pace(recipient)
                return await self.client.send(payload)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _backoff(self, state: RetryCallState) -> float:
        """Meta asks for 4^n seconds after a pair-rate refusal; exponential with jitter otherwise."""
        error = state.outcome.exception() if state.outcome else None
        n = state.attempt_number - 1
        base = self.settings.backoff_base_seconds
        if isinstance(error, GraphApiError) and error.code == PAIR_RATE_CODE:
            delay = base * (4 ** n)
        else:
            delay = base * (2 ** n) * random.uniform(0.5, 1.5)
        return min(delay, self.settings.backoff_max_seconds)

    async def _pace(self, recipient: str) -> None:
        pair = TokenBucket(
            self.store,
            redis_keys.pair_bucket(self.client.config.phone_number_id, recipient),
            self.settings.pair_burst,
            1 / self.settings.pair_interval_seconds,
        )
        for bucket in (pair, self._number):
            while True:
                wait = await bucket.take()
                if not wait:
                    break
                await asyncio.sleep(wait)


class DeadLetters:
    """Messages that could not be sent: kept with the reason, listed, and re-sendable."""

    def __init__(self, store: aioredis.Redis) -> None:
        self.store = store

    async def add(self, payload: Dict[str, Any], error: GraphApiError, key: Optional[str], label: str) -> str:
        entry = {
            "payload": json.dumps(payload),
            "recipient": str(payload.get("to") or payload.get("recipient") or ""),
            "code": "" if error.code is None else str(error.code),
            "reason": str(error),
            "retryable": "1" if error.retryable else "0",
            "key": key or "",
            "label": label,
            "at": repr(time.time()),
        }
        return as_text(await self.store.xadd(redis_keys.DEAD_LETTERS, entry))

    async def list(self, count: int = 100) -> List[Dict[str, str]]:
        entries = await self.store.xrange(redis_keys.DEAD_LETTERS, count=count)
        return [{"id": as_text(entry_id), **{as_text(k): as_text(v) for k, v in fields.items()}}
                for entry_id, fields in entries]

    async def resend(self, entry_id: str, sender: OutboundSender) -> Optional[SendResult]:
        """Send a dead letter again; it leaves the store when the send succeeds."""
        entries = await self.store.xrange(redis_keys.DEAD_LETTERS, min=entry_id, max=entry_id)
        if not entries:
            raise KeyError(f"no dead letter {entry_id}")
        fields = {as_text(k): as_text(v) for k, v in entries[0][1].items()}
        await self.store.xdel(redis_keys.DEAD_LETTERS, entry_id)
        result = await sender.send(json.loads(fields["payload"]), key=fields["key"] or None, label=fields["label"])
        return result

