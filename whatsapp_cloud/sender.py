"""The outbound governor: every message to WhatsApp passes here.

It paces sends (per-number throughput, per-customer pair rate), retries what Meta calls
transient (5xx, 130429, 131056, timeouts) with backoff and jitter, never retries permanent
errors, sends each logical message at most once (idempotency key), and puts what cannot be
sent into a dead-letter stream with the reason, from where it can be inspected and re-sent.
Before any of that, the messaging policy (whatsapp_cloud/policy/) decides whether the message may go
as it is, must go as its approved template, waits (deferred, sent later by `flush`), or is blocked.
"""

import asyncio
import json
import logging
import os
import random
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from whatsapp_cloud import metrics, redis_keys
from whatsapp_cloud.client import GraphApiClient, SendResult
from whatsapp_cloud.delivery_status import DeliveryStatus
from whatsapp_cloud.errors import GraphApiError
from whatsapp_cloud.event_log import EventLog
from whatsapp_cloud.offered_payloads import OfferedPayloads
from whatsapp_cloud.policy.cost_ledger import CostLedger, kind_of, pricing_from_env
from whatsapp_cloud.policy.decision import Action, Decision
from whatsapp_cloud.policy.gate import PolicyGate
from whatsapp_cloud.policy.pricing import PricingInputError
from whatsapp_cloud.redis_values import as_text
from whatsapp_cloud.throttle import TokenBucket

logger = logging.getLogger(__name__)

PAIR_RATE_CODE = 131056
IDEMPOTENCY_SECONDS = 8 * 24 * 3600
DEFERRED_MARK = "deferred"  # idempotency value of a message waiting in the deferred queue
SENDING_MARK = "sending:"  # idempotency value while a send is under way (followed by who sends it)


@dataclass(frozen=True)
class Delivery:
    """What became of one outbound message: the policy's decision and, if it went out, Meta's answer."""

    decision: Optional[Decision]  # None: a repeat of a message already handled under the same key
    result: Optional[SendResult] = None

    @property
    def replaced_by_template(self) -> bool:
        return self.decision is not None and self.decision.action == Action.SEND_TEMPLATE


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
        policy: Optional[PolicyGate] = None,
        costs: Optional[CostLedger] = None,
    ) -> None:
        self.client = client
        self.store = store
        self.settings = settings = settings or SenderSettings()
        self.statuses = statuses or DeliveryStatus(store)
        self.events = events or EventLog(store)
        self.dead_letters = DeadLetters(store)
        self.offered = OfferedPayloads(store)
        self.policy = policy or PolicyGate(store, events=self.events)
        self.costs = costs or CostLedger(store, *pricing_from_env())
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        phone_id = client.config.phone_number_id
        self._number = TokenBucket(
            store, redis_keys.number_bucket(phone_id), settings.throughput_per_second, settings.throughput_per_second
        )

    async def send(
        self, payload: Dict[str, Any], *, key: Optional[str] = None, label: str = "",
        fallback: Optional[Dict[str, Any]] = None,
    ) -> Optional[SendResult]:
        """Send one message as the policy allows; None when it was deferred, blocked or dead-lettered."""
        return (await self.deliver(payload, key=key, label=label, fallback=fallback)).result

    async def deliver(
        self, payload: Dict[str, Any], *, key: Optional[str] = None, label: str = "",
        fallback: Optional[Dict[str, Any]] = None, queued: bool = False, assume_window_closed: bool = False,
    ) -> Delivery:
        """Decide with the policy, then send (the message or its template), defer, or block.

        `fallback` is {"template": <Cloud API template object>, "keep_original": bool}: the approved template
        that replaces session content outside the customer service window. `queued`: the message comes from
        the deferred queue (a new deferral leaves it there instead of queueing it again).
        """
        recipient = str(payload.get("to") or payload.get("recipient") or "")
        if key:
            # Reserved before anything is sent (SET NX): two runs of the same turn never both send it.
            already = await self._reserve(key)
            if already is not None:
                metrics.OUTBOUND.labels("duplicate_skipped", "").inc()
                await self.events.record("outbound_duplicate_skipped", key=key, recipient=recipient)
                sent = already != DEFERRED_MARK and not already.startswith(SENDING_MARK)
                return Delivery(None, SendResult(already, recipient, None) if sent else None)
        try:
            decision, snapshot = await self.policy.plan(recipient, payload, fallback, assume_window_closed)
        except BaseException:
            if key:  # nothing went out: a retry may send it
                await self.store.delete(redis_keys.outbound_idempotency(key))
            raise
        item = {"payload": payload, "fallback": fallback, "key": key, "label": label,
                "at": snapshot.now.isoformat()}
        if decision.action == Action.BLOCK:
            if key:
                await self.store.delete(redis_keys.outbound_idempotency(key))
            await self.policy.block(recipient, decision, label)
            return Delivery(decision)
        if decision.action == Action.DEFER:
            if not queued:
                await self.policy.defer(recipient, decision, item)
                if key:
                    await self.store.set(redis_keys.outbound_idempotency(key), DEFERRED_MARK, ex=IDEMPOTENCY_SECONDS)
            return Delivery(decision)
        outgoing = payload
        if decision.action == Action.SEND_TEMPLATE and decision.template is not None:
            outgoing = {"recipient_type": "individual", "to": recipient, "type": "template",
                        "template": decision.template.payload}
        result = await self._send(outgoing, key=key, label=label or str(payload.get("type", "")))
        if result is None:
            return Delivery(decision)
        await self.policy.sent(recipient, decision, snapshot.now)
        await self._record_cost(recipient, result.wamid, outgoing, decision, snapshot.now)
        if decision.action == Action.SEND_SESSION:
            # Meta may still refuse it later (131047 in a failed status): keep how to re-plan it.
            await self.policy.state.save_plan(result.wamid, item)
        if payload is not outgoing and fallback and fallback.get("keep_original"):
            await self.policy.defer(recipient, Decision(Action.DEFER, f"delivered after {decision.template.name} "
                                                        "when the customer replies"), {**item, "fallback": None})
        return Delivery(decision, result)

    async def _reserve(self, key: str) -> Optional[str]:
        """Take the idempotency key for this send; None when taken, else what it already holds (a wamid,
        DEFERRED_MARK, or SENDING_MARK while another run sends it or after a crash in the middle of a send)."""
        name = redis_keys.outbound_idempotency(key)
        if await self.store.set(name, f"{SENDING_MARK}{self._holder}", nx=True, ex=IDEMPOTENCY_SECONDS):
            return None
        return as_text(await self.store.get(name) or SENDING_MARK)

    async def _record_cost(
        self, recipient: str, wamid: str, outgoing: Dict[str, Any], decision: Decision, at: datetime
    ) -> None:
        # The message is out: a ledger problem is logged, never a reason to send it again.
        category = decision.template.category if decision.template is not None else None
        try:
            await self.costs.record_outbound(recipient, wamid, kind_of(outgoing), category,
                                             self.client.config.phone_number_id, at=at)
        except (PricingInputError, RedisError) as exc:
            logger.error("cost ledger did not record %s to %s: %s", wamid, recipient, exc)

    async def flush(self, recipient: str, trigger: str = "customer_wrote") -> int:
        """Send what waits for `recipient`, oldest first, as far as the policy now allows; how many went out.

        One process at a time per customer: if another is already sending them, this one leaves it to it.
        """
        # Runs on every customer message: one cheap look before the lock, since nearly always nothing waits.
        if not await self.policy.state.has_deferred(recipient):
            return 0
        if not await self.policy.state.lock_deferred(recipient, self._holder):
            return 0
        try:
            return await self._flush(recipient, trigger)
        finally:
            await self.policy.state.unlock_deferred(recipient)

    async def _flush(self, recipient: str, trigger: str) -> int:
        sent = 0
        for item in await self.policy.state.deferred(recipient):
            key = f"{item['key']}:deferred" if item.get("key") else None
            delivery = await self.deliver(item["payload"], key=key, label=item.get("label", ""),
                                          fallback=item.get("fallback"), queued=True)
            if delivery.decision is not None and delivery.decision.action == Action.DEFER:
                break  # still not possible: it and everything after it keep their place
            await self.policy.state.drop_first_deferred(recipient)
            if delivery.result is not None:
                sent += 1
                metrics.POLICY_FLUSHED.labels(trigger).inc()
        return sent

    async def flush_waiting_for_capacity(self) -> int:
        """Send what waited for messaging-limit capacity, customer by customer, while capacity lasts."""
        sent = 0
        for recipient in await self.policy.state.waiting_for_capacity():
            sent += await self.flush(recipient, trigger="capacity")
        return sent

    async def _send(self, payload: Dict[str, Any], *, key: Optional[str], label: str) -> Optional[SendResult]:
        """Send now (paced, retried); None when it went to the dead letters (the reason is logged there)."""
        recipient = str(payload.get("to") or payload.get("recipient") or "")
        # Recorded before the send: the customer's tap can come back faster than our bookkeeping.
        await self.offered.remember(recipient, payload)
        try:
            result = await self._send_with_retries(payload, recipient)
        except GraphApiError as exc:
            if key:  # not sent: a re-send of the dead letter under the same key must go
                await self.store.delete(redis_keys.outbound_idempotency(key))
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

