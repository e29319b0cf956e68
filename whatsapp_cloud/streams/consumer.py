"""Consume the webhook stream: each customer's messages in order, statuses recorded, entries acknowledged.

Runs as a background task in every Rasa process. Customers are handled concurrently; one
customer's messages strictly one after another. A stream entry is acknowledged only when
every message in it is handled, so a crash or a Redis outage never loses one.

Each entry is handled on its own: what fails only for now (Redis, the network, Rasa's lock) is
tried again, up to `max_attempts` times; what cannot succeed (not a webhook, a bug or bad data in an
item) goes at once to the webhook dead letters (dead_letters.py) with the reason. Nothing an
entry holds can stop the loop: an unexpected error is logged with the entry id and the loop goes on.
"""

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Type

import httpx
from redis.exceptions import RedisError

from whatsapp_cloud import metrics
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import EventLog
from whatsapp_cloud.outbound.delivery_status import DeliveryStatus
from whatsapp_cloud.streams.customer_order import DEFAULT_WAIT_LIMIT
from whatsapp_cloud.streams.dead_letters import DEFAULT_MAX_ATTEMPTS, WebhookDeadLetters
from whatsapp_cloud.streams.webhook_stream import RESUMED, Entry, MessageClaims, WebhookStream
from whatsapp_cloud.turn_slots import TurnSlots
from whatsapp_cloud.webhooks import inbound

logger = logging.getLogger(__name__)

MessageHandler = Callable[[inbound.InboundMessage], Awaitable[None]]
StatusHandler = Callable[[inbound.StatusUpdate], Awaitable[None]]
EventHandler = Callable[[inbound.Event], Awaitable[None]]
# True when the message belongs to a conversation a person has (it was handed over; the bot must not run).
Divert = Callable[[inbound.InboundMessage], Awaitable[bool]]
# True when the message's turn already ran to its end (the dialogue holds it): asked only of a message another
# try may have handled, whose process died (or failed) after the turn and before the claim said done.
RanBefore = Callable[[inbound.InboundMessage], Awaitable[bool]]


class TransientFailure(Exception):
    """The message could not be handled now (e.g. Redis unreachable); try again later."""


class HandoffUnreachable(ConnectionError):
    """The human handoff did not take a diverted message; the stream entry stays pending and is retried."""


class PermanentFailure(Exception):
    """An item failed in a way a retry cannot fix (a bug, data we cannot handle); recorded, not retried."""


# Faults that pass: another try can succeed. Everything else is taken for a bug or bad data.
TRANSIENT_ERRORS = (TransientFailure, RedisError, ConnectionError, OSError, asyncio.TimeoutError,
                    httpx.TransportError)
READ_BATCH = 100  # new entries read at most at once


class InOrder:
    """Runs coroutines one after another per key, concurrently across keys. A work ranked before the key's
    latest one (a customer's earlier message, taken over from a dead consumer after this process read a later
    one) runs at once: queued behind the later one, which waits for it, it would wait for itself."""

    def __init__(self) -> None:
        self._tails: Dict[str, Tuple[asyncio.Task, Optional[int]]] = {}

    def submit(self, key: str, work: Callable[[], Awaitable[Any]], rank: Optional[int] = None) -> asyncio.Task:
        previous, previous_rank = self._tails.get(key, (None, None))
        if rank is not None and previous_rank is not None and rank < previous_rank:
            return asyncio.create_task(work())

        async def after_previous() -> Any:
            if previous is not None:
                await asyncio.wait([previous])
            return await work()

        task = asyncio.create_task(after_previous())
        self._tails[key] = (task, rank)
        task.add_done_callback(lambda done: self._forget(key, done))
        return task

    def _forget(self, key: str, task: asyncio.Task) -> None:
        if self._tails.get(key, (None, None))[0] is task:
            del self._tails[key]


class WebhookConsumer:
    def __init__(
        self,
        stream: WebhookStream,
        claims: MessageClaims,
        statuses: DeliveryStatus,
        events: EventLog,
        handle_message: MessageHandler,
        on_status: Optional[StatusHandler] = None,
        on_event: Optional[EventHandler] = None,
        on_inbound: Optional[MessageHandler] = None,
        max_in_flight: int = 32,
        max_concurrent_turns: int = 2,
        retry_every: float = 5.0,
        yield_seconds: float = 10.0,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        divert: Optional[Divert] = None,
        transient_errors: Tuple[Type[BaseException], ...] = (),
        alive: Optional[Callable[[str], Awaitable[bool]]] = None,
        order_wait_seconds: float = DEFAULT_WAIT_LIMIT,
        ran_before: Optional[RanBefore] = None,
    ) -> None:
        self.stream = stream
        self.claims = claims
        self.statuses = statuses
        self.events = events
        self.handle_message = handle_message
        self.on_status = on_status
        self.on_event = on_event  # preferences, template status and other non-message changes
        self.on_inbound = on_inbound  # every customer message, before its turn (windows, consent)
        # A worker takes from the stream only what it can start soon; the rest stays there for the other
        # workers (reading 100 at a time, up to 500, one worker took a whole backlog and left the next idle).
        self.max_in_flight = max_in_flight
        self.retry_every = retry_every
        self.max_attempts = max_attempts
        self.dead_letters = WebhookDeadLetters(stream.store, stream.stream, stream.group)
        self.in_order = InOrder()
        self._in_flight: Dict[str, asyncio.Task] = {}  # stream entry id -> its acknowledging task
        self._stopping = asyncio.Event()
        # Rasa's NLU runs on the event loop that also answers Meta's webhooks: a few turns at a
        # time keep acknowledgements fast under a burst; the rest stay pending in the stream.
        self._turn_slots = TurnSlots(max_concurrent_turns)
        # While webhooks are arriving, a new turn waits (up to `yield_seconds`) for a pause, so
        # Meta gets its 200s first and the turns run right after the burst.
        self.yield_seconds = yield_seconds
        self._last_webhook = 0.0
        self.divert = divert  # None without a handoff service
        self.ran_before = ran_before
        # Whether another consumer's process is alive (its lease): a dead one's entries are taken over at once.
        self.alive = alive
        self.order = stream.order
        self.order.wait_limit = order_wait_seconds
        # The turn's own passing faults (the dialogue engine's lock timeouts) are retried too.
        self.transient_errors = TRANSIENT_ERRORS + tuple(transient_errors)

    async def run(self) -> None:
        """Process until stopped; survives Redis outages by waiting and retrying."""
        last_retry = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() - last_retry >= self.retry_every:
                    await self.stream.ensure_group()
                    # Our own unacknowledged entries (after a restart or a failed turn), then other
                    # consumers' abandoned ones.
                    await self._dispatch_all(await self.stream.own_pending())
                    await self._dispatch_all(await self.stream.reclaim())
                    if self.alive is not None:
                        await self._dispatch_all(await self.stream.reclaim_from_dead(self.alive))
                    last_retry = time.monotonic()
                await self._dispatch_all(await self.stream.new_entries(count=await self._room(), block_ms=1000))
            except asyncio.CancelledError:
                raise
            except RedisError as exc:
                logger.warning("webhook stream unavailable (%s); retrying", exc)
                await asyncio.sleep(1)
                last_retry = 0.0
            except Exception:  # noqa: BLE001 - the loop must not die; entries stay pending and come back
                metrics.CONSUMER_ERRORS.inc()
                logger.exception("webhook consumer: unexpected error; going on")
                await asyncio.sleep(1)
                last_retry = 0.0

    def webhook_arrived(self) -> None:
        self._last_webhook = time.monotonic()

    async def _after_webhooks_pause(self) -> None:
        quiet, deadline = 0.02, time.monotonic() + self.yield_seconds
        while time.monotonic() - self._last_webhook < quiet and time.monotonic() < deadline:
            await asyncio.sleep(quiet)

    def stop(self) -> None:
        """Finish the current read (at most one block interval) and leave the loop."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def drain(self) -> None:
        """Wait for everything dispatched so far (tests and graceful shutdown)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight.values()), return_exceptions=True)

    async def _room(self) -> int:
        """How many new entries to read: once one is settled when all `max_in_flight` are taken."""
        while len(self._in_flight) >= self.max_in_flight:
            await asyncio.wait(list(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
        return min(READ_BATCH, self.max_in_flight - len(self._in_flight))

    async def _dispatch_all(self, entries: List[Entry]) -> None:
        for entry in entries:
            if entry.id in self._in_flight:
                continue
            while len(self._in_flight) >= self.max_in_flight:
                await asyncio.wait(list(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
            try:
                await self._dispatch(entry)
            except RedisError:
                raise  # the stream itself is unavailable: the loop waits and reads again
            except Exception as exc:  # noqa: BLE001 - one entry never stops the others
                metrics.CONSUMER_ERRORS.inc()
                logger.exception("webhook entry %s could not be dispatched", entry.id)
                await self._failed(entry, [exc], permanent=False)

    async def _dispatch(self, entry: Entry) -> None:
        try:
            payload = inbound.load(entry.body)
        except inbound.MalformedWebhook as exc:  # signed but unreadable: nothing to retry
            await self.events.record(kinds.WEBHOOK_MALFORMED, entry=entry.id, reason=str(exc))
            await self._bury(entry, f"malformed: {exc}", "malformed", attempts=1)
            return
        work: List[asyncio.Task] = []
        by_customer: Dict[str, List[inbound.InboundMessage]] = {}
        for event in inbound.events(payload):
            if isinstance(event, inbound.InboundMessage):
                by_customer.setdefault(event.sender, []).append(event)
            elif isinstance(event, inbound.StatusUpdate):
                work.append(asyncio.create_task(_classified(self._status(event))))
            elif isinstance(event, inbound.ItemError):
                work.append(asyncio.create_task(self._item_error(entry, event)))
            else:
                work.append(asyncio.create_task(_classified(self._record_other(event))))
        for customer, messages in by_customer.items():
            # One after another per customer in this process (no polling between them); across processes, by
            # the customer's tickets, which also rank a taken-over earlier entry before a later one read here.
            work.append(self.in_order.submit(customer, lambda c=customer, ms=messages: self._in_turn(entry, c, ms),
                                             rank=entry.tickets.get(customer)))
        task = asyncio.create_task(self._ack_when_done(entry, work))
        self._in_flight[entry.id] = task
        task.add_done_callback(lambda _t, entry_id=entry.id: self._in_flight.pop(entry_id, None))

    async def _ack_when_done(self, entry: Entry, work: List[asyncio.Task]) -> None:
        results = await asyncio.gather(*work, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        try:
            if failures:
                await self._failed(entry, failures, permanent=not any(
                    isinstance(f, TransientFailure) for f in failures))
                return
            # The customers' next messages may run now (before the ack: a crash in between only repeats
            # this entry, and its messages' claims say they are done).
            await self.order.complete(entry.tickets)
            await self.stream.ack(entry.id)
            await self.dead_letters.succeeded(entry.id)
        except RedisError as exc:
            logger.warning("could not settle %s (%s); it will be seen again and deduplicated", entry.id, exc)
        except Exception:  # noqa: BLE001 - stays pending; the next round tries again
            metrics.CONSUMER_ERRORS.inc()
            logger.exception("webhook entry %s could not be settled", entry.id)

    async def _failed(self, entry: Entry, failures: List[BaseException], permanent: bool) -> None:
        """Leave the entry pending for another try, or bury it: at once when no retry can fix it, else
        after `max_attempts` tries."""
        reason = "; ".join(f"{f.__class__.__name__}: {f}" for f in failures[:5])
        attempts = await self.dead_letters.failed_attempt(entry.id)
        if permanent:
            await self._bury(entry, reason, "failed", attempts)
        elif attempts >= self.max_attempts:
            await self._bury(entry, f"failed {attempts} times: {reason}", "exhausted", attempts)
        else:
            logger.warning("entry %s stays pending for another try (%d of %d): %s",
                           entry.id, attempts, self.max_attempts, reason)

    async def _bury(self, entry: Entry, reason: str, kind: str, attempts: int) -> None:
        dead_id = await self.dead_letters.bury(entry.id, entry.body, reason, attempts, kind)
        await self.order.complete(entry.tickets)  # a buried entry no longer holds its customers up
        logger.error("webhook entry %s moved to the dead letters as %s (%s): %s", entry.id, dead_id, kind, reason)
        await self.events.record(kinds.WEBHOOK_DEAD, entry=entry.id, dead_letter=dead_id, why=kind,
                                 attempts=attempts, reason=reason[:500])

    async def _item_error(self, entry: Entry, error: inbound.ItemError) -> None:
        metrics.WEBHOOK_ITEM_ERRORS.inc()
        # Counted and in wa:events; at info level so a flood of odd webhooks does not flood the log.
        logger.info("webhook entry %s: %s skipped: %s", entry.id, error.where, error.reason)
        try:
            await self.events.record(kinds.WEBHOOK_ITEM_INVALID, entry=entry.id, where=error.where,
                                     reason=error.reason[:500])
        except RedisError as exc:
            raise TransientFailure(str(exc)) from exc

    async def _in_turn(self, entry: Entry, customer: str, messages: List[inbound.InboundMessage]) -> None:
        """A customer's messages of one entry, once their earlier messages (any process) are settled. A
        message that fails only for now stops the rest: they run after it, when the entry is tried again."""
        ticket = entry.tickets.get(customer)
        if ticket is not None:
            try:
                in_order, waited = await self.order.wait_turn(customer, ticket)
            except RedisError as exc:
                raise TransientFailure(f"{customer}'s turn: {exc}") from exc
            if not in_order:
                logger.warning("entry %s ran after waiting %.0f s for an earlier message of the same customer",
                               entry.id, waited)
                await _quietly(self.events.record(kinds.ORDER_GAP, entry=entry.id, sender=customer,
                                                  ticket=ticket, waited=round(waited, 1)))
        permanent: List[BaseException] = []
        for message in messages:
            try:
                await self._handle(message, again=entry.redelivered)
            except PermanentFailure as exc:
                permanent.append(exc)  # recorded with the entry; the customer's other messages go on
        if permanent:
            raise permanent[0]

    async def _handle(self, message: inbound.InboundMessage, again: bool = False) -> None:
        """`again`: the message's entry was read before, so a turn of it may have run."""
        try:
            ok, why = await self.claims.claim(message.wamid)
            if not ok:
                await self._duplicate(message, why)
                return
        except RedisError as exc:
            raise TransientFailure(f"{message.wamid}: {exc}") from exc
        try:
            # A process that saved the turn and died before marking it done: running it again would put the
            # message in the dialogue twice (its replies would not go out twice: their keys are taken).
            if (again or why == RESUMED) and self.ran_before is not None and await self.ran_before(message):
                await self._duplicate(message, "its turn ran before")
            else:
                # The claim is renewed while the turn runs, however long the sends are held back.
                async with self.claims.kept(message.wamid):
                    await self._turn(message)
                metrics.INBOUND.labels(message.type, "turn" if message.starts_turn else "recorded").inc()
        except HandoffUnreachable as exc:
            metrics.HANDOFF_FORWARDS.labels("unreachable").inc()
            await _quietly(self.events.record(kinds.HANDOFF_UNREACHABLE, wamid=message.wamid, sender=message.sender,
                                              reason=str(exc)[:500]))
            await self._retry_later(message, exc)
        except self.transient_errors as exc:
            await self._retry_later(message, exc)
        except Exception as exc:  # noqa: BLE001 - a bug or bad data: a retry would fail the same way
            logger.exception("handling %s failed", message.wamid)
            metrics.INBOUND.labels(message.type, "failed").inc()
            reason = f"{exc.__class__.__name__}: {exc}"
            await _quietly(self.events.record(kinds.INBOUND_FAILED, wamid=message.wamid, sender=message.sender,
                                              reason=reason[:500]))
            # Not marked done: a replay of the dead letter (or Meta's own retry) runs the turn again.
            await _quietly(self.claims.release(message.wamid))
            raise PermanentFailure(f"{message.wamid}: {reason}") from exc
        try:
            await self.claims.done(message.wamid)
        except RedisError as exc:  # the turn ran; a retry finds its replies by their idempotency keys
            raise TransientFailure(f"{message.wamid}: {exc}") from exc

    async def _duplicate(self, message: inbound.InboundMessage, why: str) -> None:
        metrics.INBOUND.labels(message.type, "duplicate").inc()
        await self.events.record(kinds.INBOUND_DUPLICATE, wamid=message.wamid, sender=message.sender, reason=why)

    async def _turn(self, message: inbound.InboundMessage) -> None:
        await self.events.record(
            kinds.INBOUND, wamid=message.wamid, sender=message.sender, type=message.type,
            sent_at=message.timestamp, referral="1" if message.referral else "",
        )
        if self.on_inbound is not None:
            await self.on_inbound(message)
        # Outside the turn slots: a slow or unreachable handoff service holds up only its own customers.
        if self.divert is not None and await self.divert(message):
            metrics.HANDOFF_FORWARDS.labels("forwarded").inc()
            return
        async with self._turn_slots.held():
            await self._after_webhooks_pause()
            await self.handle_message(message)

    async def _retry_later(self, message: inbound.InboundMessage, exc: BaseException) -> None:
        metrics.INBOUND.labels(message.type, "retry").inc()
        await _quietly(self.claims.release(message.wamid))
        raise TransientFailure(f"{message.wamid}: {exc.__class__.__name__}: {exc}") from exc

    async def _status(self, update: inbound.StatusUpdate) -> None:
        if not await self.statuses.claim(update):
            return
        try:
            await self._handle_status(update)
        except BaseException:
            await _quietly(self.statuses.release(update))  # handled again with the entry's retry
            raise
        await self.statuses.done(update)  # only now, when its effects are stored

    async def _handle_status(self, update: inbound.StatusUpdate) -> None:
        moved = await self.statuses.apply(update)
        metrics.STATUSES.labels(update.status).inc()
        await self.events.record(
            kinds.STATUS, wamid=update.wamid, status=update.status, recipient=update.recipient,
            moved="1" if moved else "", error_codes=",".join(map(str, update.error_codes)),
            pricing_category=(update.pricing or {}).get("category", ""),
            pricing_type=(update.pricing or {}).get("type", ""),
        )
        if update.errors:
            logger.warning("message %s failed: %s", update.wamid,
                           [(e.get("code"), e.get("title")) for e in update.errors])
        if self.on_status is not None:
            await self.on_status(update)

    async def _record_other(self, event: inbound.Event) -> None:
        if isinstance(event, inbound.PreferenceUpdate):
            await self.events.record(kinds.PREFERENCE, sender=event.sender, category=event.category, value=event.value)
        elif isinstance(event, inbound.WebhookError):
            logger.warning("Meta reported a webhook error %s: %s", event.code, event.details)
            await self.events.record(kinds.WEBHOOK_ERROR, code=str(event.code), details=event.details)
        elif isinstance(event, inbound.OtherChange):
            await self.events.record(kinds.CHANGE, field=event.field)
        if self.on_event is not None:
            await self.on_event(event)


async def _classified(work: Awaitable[Any]) -> None:
    """Run a status or other change; its failure as transient (retry the entry) or permanent (bury it)."""
    try:
        await work
    except TRANSIENT_ERRORS as exc:
        raise TransientFailure(f"{exc.__class__.__name__}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - bad data or a bug: recorded with the entry
        logger.exception("handling a webhook item failed")
        raise PermanentFailure(f"{exc.__class__.__name__}: {exc}") from exc


async def _quietly(work: Awaitable[Any]) -> None:
    try:
        await work
    except Exception:  # best effort: a lapsed claim frees itself anyway
        logger.debug("ignored", exc_info=True)


