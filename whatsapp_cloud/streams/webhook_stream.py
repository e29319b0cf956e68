"""Durable intake of webhooks: a Redis Stream between Meta's POST and the dialogue turn.

The webhook handler appends the raw body and answers 200; consumers (one per Rasa process,
in a consumer group) process entries and acknowledge them only when every message in them
is handled. An entry whose consumer died stays pending and is taken over: by the same
consumer name after a restart at once, by any other consumer once it has been idle long
enough. Claims per wamid make each customer message start exactly one bot turn, across
processes, restarts and Meta's duplicate deliveries.
"""

import asyncio
import logging
import time
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Callable, Dict, List, Optional, Sequence, Set, Tuple

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from whatsapp_cloud import redis_keys
from whatsapp_cloud.redis_connection import async_transaction
from whatsapp_cloud.redis_values import as_text
from whatsapp_cloud.retention import Retention
from whatsapp_cloud.streams.customer_order import CustomerOrder, parse_tickets

logger = logging.getLogger(__name__)

DONE = "done"
RESUMED = "resumed"  # a claim taken up again from a process that is gone
CLAIM_SECONDS = 120  # renewed while the turn runs; a crashed handler's claim lapses after this
DONE_SECONDS = 8 * 24 * 3600  # Meta retries a webhook for up to 7 days
DEAD_IDLE_MS = 5000  # a dead consumer's entries have been idle longer: its lease lapsed 10-15 s after it died
# Handled entries are deleted when acknowledged, so the bound (WHATSAPP_WEBHOOK_STREAM_MAXLEN) limits only a
# backlog.
STREAM_MAX_LENGTH = Retention().webhook_stream_max


@dataclass(frozen=True)
class Entry:
    id: str
    body: bytes
    received_at: float
    tickets: Dict[str, int] = field(default_factory=dict)  # customer -> place in their order (customer_order.py)
    # Read before (pending after a crash or a failed try, or taken over): its messages' turns may have run.
    redelivered: bool = False


class WebhookStream:
    def __init__(
        self,
        store: aioredis.Redis,
        consumer: str,
        stream: str = redis_keys.WEBHOOK_STREAM,
        group: str = redis_keys.WEBHOOK_GROUP,
        reclaim_idle_ms: int = (CLAIM_SECONDS + 30) * 1000,
        max_length: int = STREAM_MAX_LENGTH,
    ) -> None:
        self.max_length = max_length
        self.order = CustomerOrder(store)
        self.dead_idle_ms = DEAD_IDLE_MS
        self.store = store
        self.consumer = consumer
        self.stream = stream
        self.group = group
        self.reclaim_idle_ms = reclaim_idle_ms
        self._reclaim_cursor = "0-0"

    async def ensure_group(self) -> None:
        try:
            await self.store.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def append(self, body: bytes, customers: Sequence[str] = ()) -> str:
        """Store a webhook; `customers` (whose messages it carries) each get their next ticket with it."""
        fields = {"body": body, "received_at": repr(time.time())}
        if customers:
            return await self.order.append(self.stream, fields, customers, self.max_length)
        entry_id = await self.store.xadd(self.stream, fields, maxlen=self.max_length, approximate=True)
        return as_text(entry_id)

    async def own_pending(self, count: int = 100) -> List[Entry]:
        """Entries this consumer name took before and never acknowledged (e.g. before a crash)."""
        return await self._read("0", count, block_ms=None)

    async def new_entries(self, count: int = 100, block_ms: int = 1000) -> List[Entry]:
        return await self._read(">", count, block_ms)

    async def reclaim(self, count: int = 100) -> List[Entry]:
        """Take over entries other consumers left pending for too long."""
        result = await self.store.xautoclaim(
            self.stream, self.group, self.consumer, self.reclaim_idle_ms, self._reclaim_cursor, count=count
        )
        self._reclaim_cursor = as_text(result[0])
        return [_entry(entry_id, fields, redelivered=True) for entry_id, fields in result[1] if fields]

    async def reclaim_from_dead(self, alive: Callable[[str], Awaitable[bool]], count: int = 100) -> List[Entry]:
        """Take over at once the pending entries of consumers whose process is gone (`alive` says no: their
        lease lapsed), instead of waiting until the entries have been idle for `reclaim_idle_ms`."""
        taken: List[Entry] = []
        for consumer in await self.store.xinfo_consumers(self.stream, self.group):
            name = as_text(consumer["name"])
            if name == self.consumer or not consumer["pending"] or await alive(name):
                continue
            pending = await self.store.xpending_range(self.stream, self.group, "-", "+", count, consumername=name)
            ids = [row["message_id"] for row in pending]
            if ids:
                # Only entries idle a while: of two consumers that both saw the dead one, one takes each entry.
                claimed = await self.store.xclaim(self.stream, self.group, self.consumer, self.dead_idle_ms, ids)
                taken.extend(_entry(entry_id, fields, redelivered=True) for entry_id, fields in claimed if fields)
        return taken

    async def ack(self, entry_id: str) -> None:
        """The entry is handled: acknowledge it and drop its body (duplicates are caught by the wamid claims)."""
        pipe = await async_transaction(self.store, self.stream)
        pipe.xack(self.stream, self.group, entry_id)
        pipe.xdel(self.stream, entry_id)
        await pipe.execute()

    async def _read(self, start: str, count: int, block_ms: Optional[int]) -> List[Entry]:
        reply = await self.store.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=count, block=block_ms
        )
        entries: List[Entry] = []
        for _stream, items in reply or []:
            again = start != ">"  # our own pending entries
            entries.extend(_entry(entry_id, fields, again) for entry_id, fields in items if fields)
        return entries


# Extend a claim only while it is still ours: a lapsed claim taken by another process stays theirs.
# KEYS[1] the claim. ARGV: our token, seconds.
RENEW_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""


# Take over a claim from its holder, only if it still holds it (a dead process's claim, see MessageClaims).
# KEYS[1] the claim. ARGV: the holder, our token, seconds.
TAKE_OVER = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
return false
"""


class MessageClaims:
    """Exactly-once guard per inbound wamid: claim, handle (renewing the claim), mark done.

    A claim held by a consumer whose process is gone (`alive` says no) is taken over at once: its entry
    was taken over too (`WebhookStream.reclaim_from_dead`), so waiting for the claim to lapse would only
    hold the customer up."""

    def __init__(self, store: aioredis.Redis, owner: str, claim_seconds: float = CLAIM_SECONDS,
                 alive: Optional[Callable[[str], Awaitable[bool]]] = None) -> None:
        self.store = store
        self.owner = owner
        self.claim_seconds = claim_seconds
        self.alive = alive
        self._here: Set[str] = set()  # being handled by this process right now
        self._renew = store.register_script(RENEW_IF_OURS)
        self._take_over = store.register_script(TAKE_OVER)

    @asynccontextmanager
    async def kept(self, wamid: str) -> AsyncIterator[None]:
        """Renew the claim every quarter of its lifetime while the block runs (a turn may wait minutes for
        the pair rate), so it never lapses under a live turn and no other process runs the turn again."""
        renewer = asyncio.create_task(self._renew_every(wamid))
        try:
            yield
        finally:
            renewer.cancel()
            with suppress(asyncio.CancelledError):
                await renewer

    async def _renew_every(self, wamid: str) -> None:
        while True:
            await asyncio.sleep(self.claim_seconds / 4)
            try:
                if not await self._renew(keys=[redis_keys.inbound_claim(wamid)],
                                         args=[self.owner, max(1, round(self.claim_seconds))]):
                    logger.error("claim on %s was lost while its turn ran", wamid)
                    return
            except RedisError as exc:  # the next renewal tries again; the claim has time left
                logger.warning("could not renew the claim on %s: %s", wamid, exc)

    async def claim(self, wamid: str) -> Tuple[bool, str]:
        """(True, "") when this process should handle the message; (True, RESUMED) when it takes up the claim
        of a process that is gone, which may have run the turn; else (False, why not)."""
        if wamid in self._here:
            return False, "in progress here"
        ok, why = await self._claim(wamid)
        if ok:
            self._here.add(wamid)
        return ok, why

    async def release(self, wamid: str) -> None:
        """Give a claim back so the message is tried again (the turn failed on a transient fault)."""
        self._here.discard(wamid)
        await self.store.delete(redis_keys.inbound_claim(wamid))

    async def _claim(self, wamid: str) -> Tuple[bool, str]:
        key = redis_keys.inbound_claim(wamid)
        if await self.store.set(key, self.owner, nx=True, ex=max(1, round(self.claim_seconds))):
            return True, ""
        holder = as_text(await self.store.get(key) or b"")
        if holder == self.owner:
            return True, RESUMED  # ours from before a restart: take it up again
        if holder == DONE:
            return False, "duplicate"
        if not holder:  # the claim lapsed between the two calls
            return await self._claim(wamid)
        if self.alive is not None and not await self.alive(holder):
            if await self._take_over(keys=[key], args=[holder, self.owner, max(1, round(self.claim_seconds))]):
                logger.warning("took over %s from %s, a consumer that is gone", wamid, holder)
                return True, RESUMED
            return await self._claim(wamid)
        return False, f"in progress at {holder}"

    async def done(self, wamid: str) -> None:
        await self.store.set(redis_keys.inbound_claim(wamid), DONE, ex=DONE_SECONDS)
        self._here.discard(wamid)


def _entry(entry_id: object, fields: Dict[bytes, bytes], redelivered: bool = False) -> Entry:
    received = fields.get(b"received_at") or b"0"
    return Entry(as_text(entry_id), fields.get(b"body", b""), float(as_text(received)),
                 parse_tickets(fields.get(b"tickets")), redelivered)

