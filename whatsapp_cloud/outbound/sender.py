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
import re
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Set, Tuple

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from whatsapp_cloud import metrics, redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.graph.client import GraphApiClient, SendResult
from whatsapp_cloud.graph.errors import GraphApiError, TooManyMessages
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus
from whatsapp_cloud.outbound.offered_payloads import OfferedPayloads
from whatsapp_cloud.outbound.throttle import TokenBucket
from whatsapp_cloud.policy.decision import Action, Decision, Until
from whatsapp_cloud.policy.gate import PolicyGate
from whatsapp_cloud.pricing import rate_card
from whatsapp_cloud.pricing.cost_ledger import CostLedger, kind_of
from whatsapp_cloud.pricing.engine import PricingConfig, PricingInputError
from whatsapp_cloud.redis_values import as_text
from whatsapp_cloud.retention import Retention
from whatsapp_cloud.turn_slots import wait_without_slot

logger = logging.getLogger(__name__)

IDEMPOTENCY_SECONDS = 8 * 24 * 3600
DEFERRED_MARK = "deferred"  # idempotency value of a message waiting in the deferred queue
# Idempotency values while a message is being sent, followed by who sends it. Reserved: nothing has gone out
# yet (the policy, the pacing); it lapses after RESERVATION_SECONDS, so a run that died then leaves the message
# to the next. Sending: the request may have reached Meta; never sent again (at most once).
RESERVED_MARK = "reserved:"
SENDING_MARK = "sending:"
RESERVATION_SECONDS = 30
RESERVATION_POLL_SECONDS = 0.25  # how often a run that finds another's reservation looks again
FLUSH_LOCK_SECONDS = 120  # renewed before each message sent from the deferred queue
# A business-scoped user id (BSUID, "US.13491208655302741918"): such customers are addressed by `recipient`.
BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9.]+$")


# Mark a message as being sent, just before its request: only while the reservation is still ours (or lapsed
# with nobody else taking it). KEYS[1] the idempotency key. ARGV: our reservation, our sending mark, seconds.
TO_WIRE = """
local held = redis.call('get', KEYS[1])
if held == ARGV[1] or not held then return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
return false
"""


class ReservationLost(Exception):
    """Another run of the same message took its idempotency key after this run's reservation lapsed."""


class DeadlinePassed(GraphApiError):
    """The caller's deadline came before the message could be sent; it was not sent."""

    @property
    def retryable(self) -> bool:
        return False


@dataclass(frozen=True)
class Delivery:
    """What became of one outbound message: the policy's decision and, if it went out, Meta's answer."""

    decision: Optional[Decision]  # None: a repeat of a message already handled under the same key
    result: Optional[SendResult] = None
    error: Optional[GraphApiError] = None  # why Meta did not take it (it went to the dead letters)

    @property
    def replaced_by_template(self) -> bool:
        return self.decision is not None and self.decision.action == Action.SEND_TEMPLATE


@dataclass(frozen=True)
class SenderSettings:
    throughput_per_second: float = 80.0
    pair_burst: float = 45.0
    pair_interval_seconds: float = 6.0
    # Ten tries span about four minutes of backoff (capped at 64 s). With six (about 30 s), a reply in the
    # Graph API faults proof (18% of sends refused for passing reasons, pair-rate bursts of three) ended in
    # the dead letters once in about a thousand sends; with ten, about once in 90,000.
    max_attempts: int = 10
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
        self.offered = OfferedPayloads(store)
        self.policy = policy or PolicyGate(store, events=self.events)
        self.retention: Retention = self.policy.config.retention
        self.dead_letters = DeadLetters(store, self.retention.dead_letters_max)
        # The deployment passes its own (stack/components.py); the defaults are Meta's published model and rates.
        self.costs = costs or CostLedger(store, PricingConfig(), rate_card.RateCard.load(rate_card.DEFAULT_PATH),
                                         retention=self.retention)
        holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"  # who holds a send's idempotency key
        self._reserved, self._sending = f"{RESERVED_MARK}{holder}", f"{SENDING_MARK}{holder}"
        self._to_wire = store.register_script(TO_WIRE)
        # Keys reserved here whose request has not gone out yet, and those whose delivery then failed (a send
        # that never reached Meta): only this process knows that such a reservation hides no sent message.
        self._before_wire: Set[str] = set()
        self._abandoned: Set[str] = set()
        phone_id = client.config.phone_number_id
        # Windows and consent are per business number: this sender's.
        self.policy.state = self.policy.state.for_number(phone_id)
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
        may_queue: bool = True, ignore_waiting: bool = False, deadline: Optional[float] = None,
    ) -> Delivery:
        """Decide with the policy, then send (the message or its template), defer, or block.

        `fallback` is {"template": <Cloud API template object>, "keep_original": bool}: the approved template
        that replaces session content outside the customer service window. `queued`: the message comes from
        the deferred queue (a new deferral leaves it there instead of queueing it again). `may_queue=False`:
        a message the policy would defer is refused instead (an agent's: never sent later behind their back).
        `deadline` (time.monotonic()): give up retrying rather than send after the caller stopped waiting.
        """
        payload = addressed(payload)
        recipient = recipient_of(payload)
        if key:
            # Reserved before anything is sent (SET NX): two runs of the same turn never both send it.
            already = await self._reserve(key)
            if already is not None:
                metrics.OUTBOUND.labels("duplicate_skipped", "").inc()
                await self.events.record(kinds.OUTBOUND_DUPLICATE_SKIPPED, key=key, recipient=recipient)
                sent = already != DEFERRED_MARK and not already.startswith((SENDING_MARK, RESERVED_MARK))
                return Delivery(None, SendResult(already, recipient, None) if sent else None)
        try:
            return await self._deliver(payload, recipient, key, label, fallback, queued, assume_window_closed,
                                       may_queue, ignore_waiting, deadline)
        except BaseException:
            if key in self._before_wire:  # e.g. Redis went away before the request: a retry here may send it
                self._abandoned.add(key)
            raise
        finally:
            self._before_wire.discard(key)

    async def _deliver(
        self, payload: Dict[str, Any], recipient: str, key: Optional[str], label: str,
        fallback: Optional[Dict[str, Any]], queued: bool, assume_window_closed: bool, may_queue: bool,
        ignore_waiting: bool, deadline: Optional[float],
    ) -> Delivery:
        try:
            decision, snapshot = await self.policy.plan(recipient, payload, fallback, assume_window_closed,
                                                        ignore_waiting)
        except BaseException:
            if key:  # nothing went out: a retry may send it
                await self.store.delete(redis_keys.outbound_idempotency(key))
            raise
        item = {"payload": payload, "fallback": fallback, "key": key, "label": label,
                "at": snapshot.now.isoformat(), "ts": snapshot.now.timestamp(), "may_queue": may_queue}
        if decision.action == Action.BLOCK:
            if key:
                await self.store.delete(redis_keys.outbound_idempotency(key))
            await self.policy.block(recipient, decision, label)
            return Delivery(decision)
        if decision.action == Action.DEFER:
            if not queued and may_queue:
                # Every queued message has a key, so sending it from the queue is never repeated.
                await self.policy.defer(recipient, decision, {**item, "key": key or f"queued:{uuid.uuid4().hex}"})
                if key:
                    await self.store.set(redis_keys.outbound_idempotency(key), DEFERRED_MARK, ex=IDEMPOTENCY_SECONDS)
            else:
                if key:  # nothing went out and nothing new waits under this key: a later try may send it
                    await self.store.delete(redis_keys.outbound_idempotency(key))
                if not may_queue:
                    await self.policy.block(recipient, decision, label)
            return Delivery(decision)
        outgoing = payload
        if decision.action == Action.SEND_TEMPLATE and decision.template is not None:
            outgoing = addressed({"recipient_type": "individual", "to": recipient, "type": "template",
                                  "template": decision.template.payload})
        # Meta may still refuse session content later (131047 in a failed status): how to re-plan it is
        # stored as soon as the message has a wamid, before anything else, so a fast status finds it.
        plan = item if decision.action == Action.SEND_SESSION else None
        result, error = await self._send(outgoing, key=key, label=label or str(payload.get("type", "")),
                                         plan=plan, deadline=deadline,
                                         replaced_by=decision.template.name if outgoing is not payload else "")
        if result is None:
            return Delivery(decision, error=error)
        await self.policy.sent(recipient, decision, snapshot.now)
        await self._record_cost(recipient, result.wamid, outgoing, decision, snapshot.now)
        if payload is not outgoing and fallback and fallback.get("keep_original"):
            await self.policy.defer(recipient, Decision(Action.DEFER, f"delivered after {decision.template.name} "
                                                        "when the customer replies", until=Until.CUSTOMER_WRITES),
                                    {**item, "fallback": None, "key": f"{key or uuid.uuid4().hex}:original"})
        return Delivery(decision, result)

    async def _reserve(self, key: str) -> Optional[str]:
        """Take the idempotency key for this send; None when taken, else what it holds: a wamid, DEFERRED_MARK,
        or SENDING_MARK (another run sent it, or crashed in the middle of its request).

        Another run's reservation (before its request) is waited for: it ends in a wamid, or lapses if that run
        died, and then this one sends. This sender's own reservation of a delivery that failed before its
        request (Redis went away) is taken again at once."""
        name = redis_keys.outbound_idempotency(key)
        give_up = time.monotonic() + RESERVATION_SECONDS + 5  # a reservation without its lifetime (never made so)
        while True:
            if await self.store.set(name, self._reserved, nx=True, ex=RESERVATION_SECONDS):
                break
            held = as_text(await self.store.get(name) or "")
            if held == self._reserved and key in self._abandoned:
                break
            if held and (not held.startswith(RESERVED_MARK) or time.monotonic() > give_up):
                return held
            await asyncio.sleep(RESERVATION_POLL_SECONDS)
        self._abandoned.discard(key)
        self._before_wire.add(key)
        return None

    async def _record_cost(
        self, recipient: str, wamid: str, outgoing: Dict[str, Any], decision: Decision, at: datetime
    ) -> None:
        # The message is out: a ledger problem is logged, never a reason to send it again.
        category = decision.template.category if decision.template is not None else None
        try:
            await self.costs.record_outbound(recipient, wamid, kind_of(outgoing), category,
                                             self.client.config.phone_number_id, at=at)
        except (PricingInputError, RedisError) as exc:
            logger.error("cost ledger did not record %s: %s", wamid, exc)

    async def flush(self, recipient: str, trigger: str = "customer_wrote") -> int:
        """Send what waits for `recipient`, oldest first, as far as the policy now allows; how many went out.

        One process at a time per customer: if another is already sending them, this one leaves it to it.
        """
        # Runs on every customer message: one cheap look before the lock, since nearly always nothing waits.
        if not await self.policy.state.has_deferred(recipient):
            return 0
        token = uuid.uuid4().hex
        if not await self.policy.state.lock_deferred(recipient, token, FLUSH_LOCK_SECONDS):
            return 0
        try:
            return await self._flush(recipient, trigger, token)
        finally:
            await self.policy.state.unlock_deferred(recipient, token)  # only if still ours

    async def _flush(self, recipient: str, trigger: str, token: str) -> int:
        state = self.policy.state
        oldest = (await state.now()).timestamp() - self.retention.deferred_max_age_seconds
        sent = 0
        for stored, item in await state.deferred_entries(recipient):
            if not await state.extend_deferred_lock(recipient, token, FLUSH_LOCK_SECONDS):
                logger.warning("lost a deferred-queue lock; another process goes on")
                logger.debug("lost the deferred-queue lock of %s", recipient)
                break
            if _deferred_at(item) < oldest:
                await self._expire(recipient, stored, item)
                continue
            key = f"{item['key']}:deferred" if item.get("key") else None
            delivery = await self.deliver(item["payload"], key=key, label=item.get("label", ""),
                                          fallback=item.get("fallback"), queued=True,
                                          may_queue=item.get("may_queue", True),
                                          ignore_waiting=item.get("until") == Until.CAPACITY.value)
            if delivery.decision is not None and delivery.decision.action == Action.DEFER:
                break  # still not possible: it and everything after it keep their place
            await state.remove_deferred(recipient, stored)  # exactly this item, wherever it now is
            if delivery.result is not None:
                sent += 1
                metrics.POLICY_FLUSHED.labels(trigger).inc()
        return sent

    async def _expire(self, recipient: str, stored: str, item: Dict[str, Any]) -> None:
        age_hours = self.retention.deferred_max_age_seconds / 3600
        reason = f"expired: waited more than {age_hours:g} h to be sent ({item.get('reason', '')})"
        await self.dead_letters.add_unsent(item["payload"], "expired", reason, key=item.get("key"),
                                           label=item.get("label", ""))
        await self.policy.state.remove_deferred(recipient, stored)
        metrics.OUTBOUND.labels("expired", "").inc()
        await self.events.record(kinds.OUTBOUND_EXPIRED, recipient=recipient, label=item.get("label", ""))
        logger.warning("a deferred message (%s) expired unsent", item.get("label") or "-")
        logger.debug("the expired deferred message was to %s", recipient)

    async def flush_waiting_for_capacity(self) -> int:
        """Send what waited for messaging-limit capacity, customer by customer, while capacity lasts."""
        sent = 0
        for recipient in await self.policy.state.waiting_for_capacity():
            sent += await self.flush(recipient, trigger="capacity")
        return sent

    async def expire_deferred(self) -> None:
        """Move messages that waited longer than the maximum age to the dead letters (customers who never wrote)."""
        state = self.policy.state
        before = await state.now() - timedelta(seconds=self.retention.deferred_max_age_seconds)
        for recipient in await state.waiting_since(before):
            if not await state.has_deferred(recipient):  # its queue expired as a whole (no sweep for a day)
                await state.forget_deferred(recipient)
                continue
            await self.flush(recipient, trigger="expiry")

    async def _send(
        self, payload: Dict[str, Any], *, key: Optional[str], label: str, plan: Optional[Dict[str, Any]] = None,
        deadline: Optional[float] = None, replaced_by: str = "",
    ) -> Tuple[Optional[SendResult], Optional[GraphApiError]]:
        """Send now (paced, retried); (None, the error) when it went to the dead letters with the reason."""
        recipient = recipient_of(payload)
        # Recorded before the send: the customer's tap can come back faster than our bookkeeping.
        await self.offered.remember(recipient, payload)
        try:
            result = await self._send_with_retries(payload, recipient, deadline, key)
        except ReservationLost:
            # Ours lapsed while the send waited (pacing), and another run of the same message took it: it sends.
            metrics.OUTBOUND.labels("duplicate_skipped", "").inc()
            await self.events.record(kinds.OUTBOUND_DUPLICATE_SKIPPED, key=key, recipient=recipient)
            return None, None
        except GraphApiError as exc:
            if key:  # not sent: a re-send of the dead letter under the same key must go
                await self.store.delete(redis_keys.outbound_idempotency(key))
            metrics.OUTBOUND.labels("dead", "" if exc.code is None else str(exc.code)).inc()
            await self.dead_letters.add(payload, exc, key=key, label=label)
            await self.events.record(kinds.OUTBOUND_DEAD, recipient=recipient, code=exc.code, label=label)
            logger.error("message not sent (%s): %s", label or payload.get("type"), exc)
            logger.debug("the message not sent was to %s", recipient)
            return None, exc
        if plan is not None:
            await self.policy.state.save_plan(result.wamid, plan)
        if key:
            await self.store.set(redis_keys.outbound_idempotency(key), result.wamid, ex=IDEMPOTENCY_SECONDS)
        metrics.OUTBOUND.labels("sent", "").inc()
        await self.statuses.record_sent(result.wamid, recipient, type=str(payload.get("type", "text")), label=label)
        await self.events.record(kinds.OUTBOUND, wamid=result.wamid, recipient=recipient,
                                 type=payload.get("type", "text"), label=label, fallback=replaced_by)
        return result, None

    async def _send_with_retries(self, payload: Dict[str, Any], recipient: str,
                                 deadline: Optional[float] = None, key: Optional[str] = None) -> SendResult:
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, GraphApiError) and exc.retryable),
            stop=stop_after_attempt(self.settings.max_attempts) | _stop_before(deadline),
            wait=self._backoff,
            sleep=wait_without_slot,  # a turn's slot serves other customers while its reply waits
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                metrics.OUTBOUND_ATTEMPTS.inc()
                await self._pace(recipient, deadline)
                if key in self._before_wire:
                    # Marked before the request: from here on Meta may have it, whatever happens next.
                    marked = await self._to_wire(keys=[redis_keys.outbound_idempotency(key)],
                                                 args=[self._reserved, self._sending, IDEMPOTENCY_SECONDS])
                    self._before_wire.discard(key)
                    if not marked:
                        raise ReservationLost(key)
                return await self.client.send(payload)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _backoff(self, state: RetryCallState) -> float:
        """Meta asks for 4^n seconds after a pair-rate refusal; exponential with jitter otherwise."""
        error = state.outcome.exception() if state.outcome else None
        n = state.attempt_number - 1
        base = self.settings.backoff_base_seconds
        if isinstance(error, TooManyMessages):
            delay = base * (4 ** n)
        else:
            delay = base * (2 ** n) * random.uniform(0.5, 1.5)
        return min(delay, self.settings.backoff_max_seconds)

    async def _pace(self, recipient: str, deadline: Optional[float] = None) -> None:
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
                if deadline is not None and time.monotonic() + wait > deadline:
                    raise DeadlinePassed("not sent: the caller's deadline came before a send slot")
                await wait_without_slot(wait)


class _stop_before(stop_base):
    """Stop retrying when the next wait would end after the caller's deadline (None: no deadline)."""

    def __init__(self, deadline: Optional[float]) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        if self.deadline is None:
            return False
        return time.monotonic() + (retry_state.upcoming_sleep or 0) >= self.deadline


def addressed(payload: Dict[str, Any]) -> Dict[str, Any]:
    """The payload addressed as Meta expects: a customer known only by a BSUID goes in `recipient`, not `to`."""
    to = str(payload.get("to") or "")
    if not BSUID.match(to):
        return payload
    moved = {k: v for k, v in payload.items() if k != "to"}
    moved["recipient"] = to
    return moved


def recipient_of(payload: Dict[str, Any]) -> str:
    return str(payload.get("to") or payload.get("recipient") or "")


def _deferred_at(item: Dict[str, Any]) -> float:
    if item.get("ts") is not None:
        return float(item["ts"])
    try:
        return datetime.fromisoformat(str(item.get("at"))).timestamp()
    except ValueError:
        return time.time()  # unreadable: never expire it by mistake


class DeadLetters:
    """Messages that could not be sent: kept with the reason (the newest `max_length`), listed, and re-sendable."""

    def __init__(self, store: aioredis.Redis, max_length: int = Retention.dead_letters_max) -> None:
        self.store = store
        self.max_length = max_length

    async def add(self, payload: Dict[str, Any], error: GraphApiError, key: Optional[str], label: str) -> str:
        return await self._add(payload, "" if error.code is None else str(error.code), str(error),
                               error.retryable, key, label)

    async def add_unsent(self, payload: Dict[str, Any], code: str, reason: str, key: Optional[str],
                         label: str) -> str:
        """A message that never reached Meta (e.g. `expired` in the deferred queue); re-sendable like the rest."""
        return await self._add(payload, code, reason, True, key, label)

    async def _add(self, payload: Dict[str, Any], code: str, reason: str, retryable: bool, key: Optional[str],
                   label: str) -> str:
        entry = {
            "payload": json.dumps(payload),
            "recipient": recipient_of(payload),
            "code": code,
            "reason": reason,
            "retryable": "1" if retryable else "0",
            "key": key or "",
            "label": label,
            "at": repr(time.time()),
        }
        return as_text(await self.store.xadd(redis_keys.DEAD_LETTERS, entry, maxlen=self.max_length,
                                             approximate=True))

    async def list(self, count: int = 100) -> List[Dict[str, str]]:
        entries = await self.store.xrange(redis_keys.DEAD_LETTERS, count=count)
        return [{"id": as_text(entry_id), **{as_text(k): as_text(v) for k, v in fields.items()}}
                for entry_id, fields in entries]

    async def resend(self, entry_id: str, sender: OutboundSender) -> Optional[SendResult]:
        """Send a dead letter again. It leaves the store only once something else holds the message: it was
        sent, it waits in the deferred queue, or it failed again (a new dead letter with the new reason)."""
        entries = await self.store.xrange(redis_keys.DEAD_LETTERS, min=entry_id, max=entry_id)
        if not entries:
            raise KeyError(f"no dead letter {entry_id}")
        fields = {as_text(k): as_text(v) for k, v in entries[0][1].items()}
        delivery = await sender.deliver(json.loads(fields["payload"]), key=fields["key"] or None,
                                        label=fields["label"])
        decision = delivery.decision
        # Sent, waiting in the deferred queue, already handled under its key, or dead-lettered again.
        handed_over = delivery.result is not None or decision is None or decision.action != Action.BLOCK
        if handed_over:
            await self.store.xdel(redis_keys.DEAD_LETTERS, entry_id)
        return delivery.result
