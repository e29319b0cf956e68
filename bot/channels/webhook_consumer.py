"""Consume the webhook stream: each customer's messages in order, statuses recorded, entries acknowledged.

Runs as a background task in every Rasa process. Customers are handled concurrently; one
customer's messages strictly one after another. A stream entry is acknowledged only when
every message in it is handled, so a crash or a Redis outage never loses one.
"""

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional

from redis.exceptions import RedisError

from bot.channels.handoff_routing import HandoffRouting
from bot.channels.webhook_stream import Entry, MessageClaims, WebhookStream
from whatsapp_cloud import inbound, metrics
from whatsapp_cloud.delivery_status import DeliveryStatus
from whatsapp_cloud.event_log import EventLog

logger = logging.getLogger(__name__)

MessageHandler = Callable[[inbound.InboundMessage], Awaitable[None]]
StatusHandler = Callable[[inbound.StatusUpdate], Awaitable[None]]
EventHandler = Callable[[inbound.Event], Awaitable[None]]


class TransientFailure(Exception):
    """The message could not be handled now (e.g. Redis unreachable); try again later."""


class InOrder:
    """Runs coroutines one after another per key, concurrently across keys."""

    def __init__(self) -> None:
        self._tails: Dict[str, asyncio.Task] = {}

    def submit(self, key: str, work: Callable[[], Awaitable[Any]]) -> asyncio.Task:
        previous = self._tails.get(key)

        async def after_previous() -> Any:
            if previous is not None:
                await asyncio.wait([previous])
            return await work()

        task = asyncio.create_task(after_previous())
        self._tails[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))
        return task

    def _forget(self, key: str, task: asyncio.Task) -> None:
        if self._tails.get(key) is task:
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
        max_in_flight: int = 500,
        max_concurrent_turns: int = 2,
        retry_every: float = 5.0,
        yield_seconds: float = 10.0,
    ) -> None:
        self.stream = stream
        self.claims = claims
        self.statuses = statuses
        self.events = events
        self.handle_message = handle_message
        self.on_status = on_status
        self.on_event = on_event  # preferences, template status and other non-message changes
        self.on_inbound = on_inbound  # every customer message, before its turn (windows, consent)
        self.max_in_flight = max_in_flight
        self.retry_every = retry_every
        self.in_order = InOrder()
        self._in_flight: Dict[str, asyncio.Task] = {}  # stream entry id -> its acknowledging task
        self._stopping = asyncio.Event()
        # Rasa's NLU runs on the event loop that also answers Meta's webhooks: a few turns at a
        # time keep acknowledgements fast under a burst; the rest stay pending in the stream.
        self._turn_slots = asyncio.Semaphore(max_concurrent_turns)
        # While webhooks are arriving, a new turn waits (up to `yield_seconds`) for a pause, so
        # Meta gets its 200s first and the turns run right after the burst.
        self.yield_seconds = yield_seconds
        self._last_webhook = 0.0
        self.handoff = HandoffRouting.from_env(stream.store)  # None without a handoff service

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
                    last_retry = time.monotonic()
                await self._dispatch_all(await self.stream.new_entries(block_ms=1000))
            except asyncio.CancelledError:
                raise
            except RedisError as exc:
                logger.warning("webhook stream unavailable (%s); retrying", exc)
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

    async def drain(self) -> None:
        """Wait for everything dispatched so far (tests and graceful shutdown)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight.values()), return_exceptions=True)

    async def _dispatch_all(self, entries: List[Entry]) -> None:
        for entry in entries:
            if entry.id in self._in_flight:
                continue
            while len(self._in_flight) >= self.max_in_flight:
                await asyncio.wait(list(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED)
            await self._dispatch(entry)

    async def _dispatch(self, entry: Entry) -> None:
        try:
            payload = inbound.load(entry.body)
        except inbound.MalformedWebhook as exc:  # signed but unreadable: keep a record, drop it
            await self.events.record("webhook_malformed", entry=entry.id, reason=str(exc))
            await self.stream.ack(entry.id)
            return
        work: List[asyncio.Task] = []
        for event in inbound.events(payload):
            if isinstance(event, inbound.InboundMessage):
                message = event
                work.append(self.in_order.submit(message.sender, lambda m=message: self._handle(m)))
            elif isinstance(event, inbound.StatusUpdate):
                work.append(asyncio.create_task(self._status(event)))
            else:
                work.append(asyncio.create_task(self._record_other(event)))
        task = asyncio.create_task(self._ack_when_done(entry, work))
        self._in_flight[entry.id] = task
        task.add_done_callback(lambda _t, entry_id=entry.id: self._in_flight.pop(entry_id, None))

    async def _ack_when_done(self, entry: Entry, work: List[asyncio.Task]) -> None:
        results = await asyncio.gather(*work, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            logger.warning("entry %s stays pending for another try: %s", entry.id, failures[0])
            return
        try:
            await self.stream.ack(entry.id)
        except RedisError as exc:
            logger.warning("could not acknowledge %s (%s); it will be seen again and deduplicated", entry.id, exc)

    async def _handle(self, message: inbound.InboundMessage) -> None:
        ok, why = await self.claims.claim(message.wamid)
        if not ok:
            metrics.INBOUND.labels(message.type, "duplicate").inc()
            await self.events.record("inbound_duplicate", wamid=message.wamid, sender=message.sender, reason=why)
            return
        await self.events.record(
            "inbound", wamid=message.wamid, sender=message.sender, type=message.type,
            sent_at=message.timestamp, referral="1" if message.referral else "",
        )
        try:
            if self.on_inbound is not None:
                await self.on_inbound(message)
            async with self._turn_slots:
                await self._after_webhooks_pause()
                if self.handoff is None or not await self.handoff.divert(message):
                    await self.handle_message(message)
        except (TransientFailure, RedisError, ConnectionError) as exc:
            metrics.INBOUND.labels(message.type, "retry").inc()
            await _quietly(self.claims.release(message.wamid))
            raise TransientFailure(f"{message.wamid}: {exc}") from exc
        except Exception:
            # A bug or bad data: retrying would fail the same way. Record it and move on.
            logger.exception("handling %s failed", message.wamid)
            metrics.INBOUND.labels(message.type, "failed").inc()
            await self.events.record("inbound_failed", wamid=message.wamid, sender=message.sender)
        else:
            metrics.INBOUND.labels(message.type, "turn" if message.starts_turn else "recorded").inc()
        await self.claims.done(message.wamid)

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
            "status", wamid=update.wamid, status=update.status, recipient=update.recipient,
            moved="1" if moved else "", error_codes=",".join(map(str, update.error_codes)),
            pricing_category=(update.pricing or {}).get("category", ""),
            pricing_type=(update.pricing or {}).get("type", ""),
        )
        if update.errors:
            logger.warning("message %s to %s failed: %s", update.wamid, update.recipient, update.errors)
        if self.on_status is not None:
            await self.on_status(update)

    async def _record_other(self, event: inbound.Event) -> None:
        if isinstance(event, inbound.PreferenceUpdate):
            await self.events.record("preference", sender=event.sender, category=event.category, value=event.value)
        elif isinstance(event, inbound.WebhookError):
            logger.warning("Meta reported a webhook error %s: %s", event.code, event.details)
            await self.events.record("webhook_error", code=str(event.code), details=event.details)
        elif isinstance(event, inbound.OtherChange):
            await self.events.record("change", field=event.field)
        if self.on_event is not None:
            await self.on_event(event)


async def _quietly(work: Awaitable[Any]) -> None:
    try:
        await work
    except Exception:  # best effort: a lapsed claim frees itself anyway
        logger.debug("ignored", exc_info=True)


