"""The cost ledger: what each customer costs the business, kept durably in Redis.

A thin layer over the pure engine in `pricing.py`: for each event it reads the customer's state
(and, for a service message, the number's monthly allowance count), lets the engine decide, and
writes everything in one Redis transaction (WATCH/MULTI; a concurrent writer makes it retry):

- `wa:pricing:customer:{wa_id}`: the customer's state as JSON (windows, CBP conversations,
  messages waiting for delivery, totals per category); it expires `WHATSAPP_PRICING_STATE_DAYS`
  after the customer's last priced event (longer than any window or delivery wait it tracks);
- `wa:pricing:allowance:{phone_number_id}:{YYYY-MM}`: service messages counted against the number's
  free monthly allowance (the first 1,000 are free);
- `wa:pricing:log`: every event with its charge, in commit order. `replay()` runs it through the
  engine again and gets the same charges: analytics rebuild totals from it, within the newest
  `WHATSAPP_PRICING_LOG_MAXLEN` entries it keeps (archive it elsewhere to rebuild all-time totals);
- `wa:pricing:totals` and `wa:pricing:totals:{YYYY-MM}`: per category `{category}:messages`,
  `{category}:charged`, `{category}:micros`; `wa:pricing:spend`: customers by amount charged;
- a `pricing_mismatch` event in `wa:events` when Meta's status `pricing` object disagrees with the
  computed charge (also logged, and counted in `whatsapp_pricing_mismatches_total`).

Entry points, the same on `CostLedger` (redis.asyncio: the Rasa channel, the outbound sender) and
`SyncCostLedger` (redis: the Flask handoff service):

- `record_inbound(message)`: an `inbound.InboundMessage` the customer sent (its own timestamp and
  referral move the windows);
- `record_outbound(wa_id, wamid, kind, category=None, phone_number_id="", at=None)`: the Cloud API
  accepted a message. `kind` is `template` (then `category` is the template's category),
  `free_form` or `reaction`; `kind_of(payload)` reads it from a send body;
- `record_status(update)`: an `inbound.StatusUpdate`; delivery (or a read without one) prices the
  message and Meta's pricing object is reconciled;
- `summary(wa_id, at=None, windows=None)`: a `ChatPricingSummary` (`.as_dict()` for JSON): open
  windows and conversations with their end times, the customer's totals, and what a free-form reply
  or a template of each category would cost now; pass the policy's `windows` to quote by them;
- `totals(month=None)`, `top_customers(count)`, `log()` (for `replay`): for the analytics dashboard.

`pricing_from_env()` reads the deployment's choice: `WHATSAPP_PRICING_MODEL` (`PMP`, the default,
or `CBP`) and `WHATSAPP_RATE_CARD` (a path; `rate_card.yml` by default).

Each `record_*` returns the engine's `Outcome` (the charge, if any) and raises `PricingInputError`
for an event it cannot price, having written nothing; callers on the message path log it and go
on. `at` defaults to the ledger's clock (passed in; UTC now by default); webhook events carry
Meta's own timestamps.

The windows in a customer's pricing state are not a second record of the live service window. The
live record, the one the messaging rules, the composer and `summary(windows=...)` use, is the policy
store's (`wa:windows:{number}:{wa_id}`, whatsapp_cloud/policy/store.py). The ledger keeps the engine's
own account of the windows, derived from the priced events alone, because charges must be a function
of the pricing log (`replay()` rebuilds the same charges from it) and a message is priced when it is
delivered, up to 30 days after it was sent, by which time the live record may have expired (it
lives a day past its last window). Both are moved by the same events at the same times (the policy
hooks and the sender record each one to both) under the same rules (whatsapp_cloud/policy/windows.py);
tests/whatsapp_cloud/pricing/test_windows.py checks that they agree.
"""

import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Dict, Generator, Iterable, List, Mapping, Optional, Tuple

import redis
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from whatsapp_cloud import metrics, redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events import log as event_log
from whatsapp_cloud.policy.windows import Windows
from whatsapp_cloud.pricing import engine as pricing
from whatsapp_cloud.pricing.engine import (
    BusinessMessage,
    CategoryTotal,
    ChatPricingSummary,
    CustomerMessage,
    CustomerState,
    Event,
    MessageStatus,
    Outcome,
    PricingBook,
    PricingConfig,
    PricingInputError,
)
from whatsapp_cloud.pricing.rate_card import RateCard
from whatsapp_cloud.redis_connection import async_transaction, transaction
from whatsapp_cloud.redis_values import as_text
from whatsapp_cloud.retention import Retention
from whatsapp_cloud.webhooks.inbound import InboundMessage, StatusUpdate

logger = logging.getLogger(__name__)

ALLOWANCE_KEEP_SECONDS = 62 * 24 * 3600  # a month's count outlives its month
TOTAL_FIELDS = ("messages", "charged", "micros")

# Each operation is written once, as a program (as in policy/store.py) that yields steps and gets their
# results back; `CostLedger` runs programs on redis.asyncio, `SyncCostLedger` on redis-py. Steps:
#   ("watch", keys)      WATCH them: the write fails if another process changes one first
#   ("read", commands)   run now (on the watched connection once something is watched)
#   ("write", commands)  MULTI/EXEC; when a watched key changed meanwhile, the whole program starts again
Command = Tuple[str, Tuple[Any, ...], Dict[str, Any]]
Program = Generator[Tuple[str, Any], Any, Any]


def utc_now() -> datetime:
    return datetime.now(pricing.UTC)


def kind_of(payload: Mapping[str, Any]) -> str:
    """The pricing kind of a Cloud API send body: template, reaction, or free_form (all else)."""
    kind = str(payload.get("type") or "text")
    return kind if kind in ("template", "reaction") else "free_form"


class _Core:
    """Everything the ledger does apart from talking to Redis: events, decisions, the programs."""

    def __init__(self, config: PricingConfig, rates: RateCard, clock: Callable[[], datetime],
                 retention: Optional[Retention] = None) -> None:
        self.config = config
        self.rates = rates
        self.clock = clock
        self.retention = retention or Retention()

    def inbound_event(self, message: InboundMessage) -> CustomerMessage:
        return CustomerMessage(message.sender, self.webhook_time(message.timestamp),
                               from_referral=bool(message.referral), wamid=message.wamid)

    def outbound_event(self, wa_id: str, wamid: str, kind: str, category: Optional[str], phone_number_id: str,
                       at: Optional[datetime]) -> BusinessMessage:
        return BusinessMessage(wa_id, wamid, at or self.clock(), kind, category, phone_number_id)

    def status_event(self, update: StatusUpdate) -> MessageStatus:
        return MessageStatus(update.recipient, update.wamid, update.status, self.webhook_time(update.timestamp),
                             update.phone_number_id, update.pricing, update.conversation)

    def webhook_time(self, timestamp: int) -> datetime:
        """Meta's timestamp; a webhook without one (0 once parsed) still counts, from now."""
        return pricing.from_timestamp(timestamp) if timestamp > 0 else self.clock()

    def load(self, wa_id: str, raw: Any) -> CustomerState:
        if raw is None:
            return CustomerState(wa_id)
        try:
            return pricing.state_from_dict(json.loads(as_text(raw)))
        except (ValueError, KeyError, TypeError) as exc:
            raise PricingInputError(f"the pricing state of {wa_id} in Redis is unreadable: {exc}") from exc

    def decide(self, state: CustomerState, event: Event, allowance_used: int) -> Outcome:
        return pricing.apply(state, event, self.config, self.rates, allowance_used)

    def writes(self, event: Event, outcome: Outcome) -> List[Command]:
        """The transaction's writes, as commands: the same for both runners."""
        commands: List[Command] = [
            ("set", (redis_keys.pricing_customer(event.wa_id), json.dumps(pricing.state_to_dict(outcome.state))),
             {"ex": self.retention.pricing_state_seconds})]
        entry = {"event": json.dumps(pricing.event_to_dict(event), default=str)}
        charge = outcome.charge
        if charge is not None:
            entry["charge"] = json.dumps(pricing.charge_to_dict(charge))
            for key in (redis_keys.PRICING_TOTALS, redis_keys.pricing_month_totals(pricing.month_of(charge.at))):
                commands += [("hincrby", (key, f"{charge.category}:messages", 1), {}),
                             ("hincrby", (key, f"{charge.category}:charged", int(charge.amount_micros > 0)), {}),
                             ("hincrby", (key, f"{charge.category}:micros", charge.amount_micros), {})]
            commands.append(("zincrby", (redis_keys.PRICING_SPEND, charge.amount_micros, event.wa_id), {}))
        if outcome.opened is not None:
            entry["opened"] = outcome.opened.id
        commands.append(("xadd", (redis_keys.PRICING_LOG, entry),
                         {"maxlen": self.retention.pricing_log_max, "approximate": True}))
        if outcome.allowance is not None:
            key = redis_keys.service_allowance(outcome.allowance.phone_number_id, outcome.allowance.month)
            commands += [("incr", (key,), {}), ("expire", (key, ALLOWANCE_KEEP_SECONDS), {})]
        if outcome.mismatches and charge is not None:
            commands.append(("xadd", (redis_keys.EVENT_STREAM, event_log.entry(
                kinds.PRICING_MISMATCH, wamid=charge.wamid, recipient=charge.wa_id,
                fields=",".join(m.field for m in outcome.mismatches),
                ours={m.field: m.ours for m in outcome.mismatches},
                meta={m.field: m.meta for m in outcome.mismatches},
            )), {"maxlen": self.retention.event_stream_max, "approximate": True}))
        return commands

    def report(self, outcome: Outcome) -> None:
        """After the commit: what operators watch."""
        if not outcome.mismatches or outcome.charge is None:
            return
        for mismatch in outcome.mismatches:
            metrics.PRICING_MISMATCHES.labels(mismatch.field).inc()
        logger.warning(
            "Meta prices message %s to %s differently: %s", outcome.charge.wamid, outcome.charge.wa_id,
            "; ".join(f"{m.field}: ours {m.ours!r}, Meta {m.meta!r}" for m in outcome.mismatches),
        )

    def summary(self, state: CustomerState, at: Optional[datetime], windows: Optional[Windows]) -> ChatPricingSummary:
        if windows is not None:  # the live record (the policy store's): what is open now, and so what a send costs
            state = replace(state, windows=windows)
        return pricing.summarize(state, at or self.clock(), self.config, self.rates)

    # --- programs (run by either runner below) ---

    def record(self, event: Event) -> Program:
        customer = redis_keys.pricing_customer(event.wa_id)
        yield ("watch", (customer,))
        [raw] = yield ("read", [("get", (customer,), {})])
        state = self.load(event.wa_id, raw)
        used = 0
        draw = pricing.allowance_draw(state, event, self.config)
        if draw is not None:
            allowance = redis_keys.service_allowance(draw.phone_number_id, draw.month)
            [count] = yield ("read", [("get", (allowance,), {})])
            used = int(count or 0)
            if used < self.config.monthly_allowance:  # the exact count decides: guard it
                yield ("watch", (allowance,))
                [count] = yield ("read", [("get", (allowance,), {})])
                used = int(count or 0)
        outcome = self.decide(state, event, used)
        yield ("write", self.writes(event, outcome))
        self.report(outcome)
        return outcome

    def state(self, wa_id: str) -> Program:
        [raw] = yield ("read", [("get", (redis_keys.pricing_customer(wa_id),), {})])
        return self.load(wa_id, raw)

    def totals(self, month: Optional[str]) -> Program:
        key = redis_keys.pricing_month_totals(month) if month else redis_keys.PRICING_TOTALS
        [raw] = yield ("read", [("hgetall", (key,), {})])
        return parse_totals(raw)

    def top_customers(self, count: int) -> Program:
        [rows] = yield ("read", [("zrevrange", (redis_keys.PRICING_SPEND, 0, count - 1), {"withscores": True})])
        return [(as_text(wa_id), int(score)) for wa_id, score in rows]

    def log(self) -> Program:
        [rows] = yield ("read", [("xrange", (redis_keys.PRICING_LOG,), {})])
        return [{as_text(k): as_text(v) for k, v in fields.items()} for _, fields in rows]


class CostLedger:
    """The ledger for asyncio callers (redis.asyncio): the WhatsApp channel's outbound governor."""

    def __init__(self, store: aioredis.Redis, config: Optional[PricingConfig] = None, rates: Optional[RateCard] = None,
                 clock: Callable[[], datetime] = utc_now, retention: Optional[Retention] = None) -> None:
        self.store = store
        self.core = _Core(config or PricingConfig(), rates or RateCard.load(), clock, retention)

    async def run(self, make: Callable[[], Program]) -> Any:
        # Every key of the ledger carries the `{wa}` hash tag: one slot, so one transaction on a cluster too.
        async with await async_transaction(self.store, redis_keys.PRICING_LOG) as pipe:
            while True:
                program = make()
                try:
                    step = next(program)
                    while True:
                        step = program.send(await self._step(pipe, *step))
                except StopIteration as done:
                    return done.value
                except WatchError:
                    continue  # another process changed a watched key: the program starts again

    async def _step(self, pipe: Any, op: str, arg: Any) -> Any:
        if op == "watch":
            return await pipe.watch(*arg)
        if op == "read" and pipe.watching:  # on the watched connection, at once
            return [await getattr(pipe, name)(*args, **options) for name, args, options in arg]
        batch = pipe if op == "write" else self.store.pipeline(transaction=False)
        if op == "write":
            pipe.multi()
        for name, args, options in arg:
            getattr(batch, name)(*args, **options)
        return await batch.execute()

    async def record_inbound(self, message: InboundMessage) -> Outcome:
        return await self.record(self.core.inbound_event(message))

    async def record_outbound(self, wa_id: str, wamid: str, kind: str, category: Optional[str] = None,
                              phone_number_id: str = "", at: Optional[datetime] = None) -> Outcome:
        return await self.record(self.core.outbound_event(wa_id, wamid, kind, category, phone_number_id, at))

    async def record_status(self, update: StatusUpdate) -> Outcome:
        return await self.record(self.core.status_event(update))

    async def record(self, event: Event) -> Outcome:
        return await self.run(lambda: self.core.record(event))

    async def state(self, wa_id: str) -> CustomerState:
        return await self.run(lambda: self.core.state(wa_id))

    async def summary(self, wa_id: str, at: Optional[datetime] = None,
                      windows: Optional[Windows] = None) -> ChatPricingSummary:
        return self.core.summary(await self.state(wa_id), at, windows)

    async def totals(self, month: Optional[str] = None) -> Dict[str, CategoryTotal]:
        return await self.run(lambda: self.core.totals(month))

    async def top_customers(self, count: int = 20) -> List[Tuple[str, int]]:
        return await self.run(lambda: self.core.top_customers(count))

    async def log(self) -> List[Dict[str, str]]:
        return await self.run(self.core.log)


class SyncCostLedger:
    """The same ledger for blocking callers (redis-py): the Flask handoff service."""

    def __init__(self, store: redis.Redis, config: Optional[PricingConfig] = None, rates: Optional[RateCard] = None,
                 clock: Callable[[], datetime] = utc_now, retention: Optional[Retention] = None) -> None:
        self.store = store
        self.core = _Core(config or PricingConfig(), rates or RateCard.load(), clock, retention)

    def run(self, make: Callable[[], Program]) -> Any:
        with transaction(self.store, redis_keys.PRICING_LOG) as pipe:
            while True:
                program = make()
                try:
                    step = next(program)
                    while True:
                        step = program.send(self._step(pipe, *step))
                except StopIteration as done:
                    return done.value
                except WatchError:
                    continue  # another process changed a watched key: the program starts again

    def _step(self, pipe: Any, op: str, arg: Any) -> Any:
        if op == "watch":
            return pipe.watch(*arg)
        if op == "read" and pipe.watching:  # on the watched connection, at once
            return [getattr(pipe, name)(*args, **options) for name, args, options in arg]
        batch = pipe if op == "write" else self.store.pipeline(transaction=False)
        if op == "write":
            pipe.multi()
        for name, args, options in arg:
            getattr(batch, name)(*args, **options)
        return batch.execute()

    def record_inbound(self, message: InboundMessage) -> Outcome:
        return self.record(self.core.inbound_event(message))

    def record_outbound(self, wa_id: str, wamid: str, kind: str, category: Optional[str] = None,
                        phone_number_id: str = "", at: Optional[datetime] = None) -> Outcome:
        return self.record(self.core.outbound_event(wa_id, wamid, kind, category, phone_number_id, at))

    def record_status(self, update: StatusUpdate) -> Outcome:
        return self.record(self.core.status_event(update))

    def record(self, event: Event) -> Outcome:
        return self.run(lambda: self.core.record(event))

    def state(self, wa_id: str) -> CustomerState:
        return self.run(lambda: self.core.state(wa_id))

    def summary(self, wa_id: str, at: Optional[datetime] = None,
                windows: Optional[Windows] = None) -> ChatPricingSummary:
        return self.core.summary(self.state(wa_id), at, windows)

    def totals(self, month: Optional[str] = None) -> Dict[str, CategoryTotal]:
        return self.run(lambda: self.core.totals(month))

    def top_customers(self, count: int = 20) -> List[Tuple[str, int]]:
        return self.run(lambda: self.core.top_customers(count))

    def log(self) -> List[Dict[str, str]]:
        return self.run(self.core.log)


def parse_totals(raw: Mapping[Any, Any]) -> Dict[str, CategoryTotal]:
    values: Dict[str, Dict[str, int]] = {}
    for name, value in raw.items():
        category, _, kind = as_text(name).rpartition(":")
        if kind in TOTAL_FIELDS:
            values.setdefault(category, {})[kind] = int(as_text(value))
    return {category: CategoryTotal(**v) for category, v in values.items()}


def replay(log_entries: Iterable[Mapping[str, str]], config: PricingConfig, rates: RateCard) -> PricingBook:
    """Run the recorded events through the engine again: the same charges, rebuilt from the log.

    Amounts come from `rates`: with a newer rate card they are what the history would cost now.
    Each log entry's `charge` keeps the amount charged at the time.
    """
    book = PricingBook(config, rates)
    for entry in log_entries:
        try:
            data = json.loads(entry["event"])
        except (KeyError, ValueError) as exc:
            raise PricingInputError(f"pricing log entry without a readable event: {entry!r}") from exc
        book.record(pricing.event_from_dict(data))
    return book
