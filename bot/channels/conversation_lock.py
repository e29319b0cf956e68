"""Rasa's Redis lock store, with tickets their holder keeps alive and no waiting for ever.

Rasa's tickets live 60 s and are never renewed, so a turn cut off by a crash or a Redis outage holds its
conversation for up to a minute, and a turn that runs longer loses the lock while it still runs. Here a
ticket lives `ticket_lifetime` seconds (15 by default) and its turn renews it every third of that, waiting
or served, until it ends: a killed worker's ticket lapses within the lifetime, a long turn keeps its lock.
The renewal is one Lua script, so it never drops a ticket Rasa's own read-then-write added meanwhile.

A waiter whose own ticket lapsed anyway (its renewals failed) would wait for good in Rasa's store: the lock
record stays, and no ticket in it is ever its own (`make proof`, scenario c: after a Redis restart a
customer's later messages were never answered). Here it gets LockError instead, which the webhook consumer
treats as passing: the message is tried again with a fresh ticket.
"""

import asyncio
import logging
import time
from contextlib import asynccontextmanager, suppress
from typing import AsyncGenerator, Optional, Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

DEFAULT_TICKET_LIFETIME_SECONDS = 15.0

# KEYS[1] the conversation's lock (Rasa's JSON: tickets are JSON strings in a list). ARGV: ticket number, new
# expiry (Unix seconds). 1 if the ticket was there and now expires then.
RENEW_SCRIPT = """
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local lock = cjson.decode(stored)
for i, dumped in ipairs(lock.tickets) do
  local ticket = cjson.decode(dumped)
  if ticket.number == tonumber(ARGV[1]) then
    ticket.expires = tonumber(ARGV[2])
    lock.tickets[i] = cjson.encode(ticket)
    redis.call('SET', KEYS[1], cjson.encode(lock))
    return 1
  end
end
return 0
"""


class ConversationLockStore(RedisLockStore):
    """`lock_store: type: bot.channels.conversation_lock.ConversationLockStore` with the options of Rasa's
    `redis` lock store, and `ticket_lifetime` (seconds)."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        options = dict(endpoint_config.kwargs)
        self.ticket_lifetime = float(options.pop("ticket_lifetime", None) or DEFAULT_TICKET_LIFETIME_SECONDS)
        super().__init__(host=endpoint_config.url, **options)
        self._renew = self.red.register_script(RENEW_SCRIPT)

    @asynccontextmanager
    async def lock(self, conversation_id: Text, lock_lifetime: Optional[float] = None,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        lifetime = lock_lifetime or self.ticket_lifetime  # Rasa's callers all leave it at its default
        ticket = self.issue_ticket(conversation_id, lifetime)
        renewing = asyncio.create_task(self._keep_alive(conversation_id, ticket, lifetime))
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            renewing.cancel()
            with suppress(asyncio.CancelledError):
                await renewing
            self.cleanup(conversation_id, ticket)

    async def _keep_alive(self, conversation_id: Text, ticket: int, lifetime: float) -> None:
        while True:
            await asyncio.sleep(lifetime / 3)
            try:
                self._renew(keys=[self.key_prefix + conversation_id], args=[ticket, time.time() + lifetime])
            except RedisError as exc:  # Redis away: the ticket may lapse, and the waiter is told (below)
                logger.debug("ticket %s of conversation '%s' not renewed: %s", ticket, conversation_id, exc)

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                raise LockError(f"the lock of conversation '{conversation_id}' lapsed while its turn waited")
            if not lock.is_locked(ticket):
                return lock
            if not _still_waiting(lock, ticket):
                raise LockError(f"ticket {ticket} of conversation '{conversation_id}' lapsed before its turn")
            # Rasa writes the lock back here to drop lapsed tickets; reading alone ignores them, and a write
            # could undo a holder's renewal made since the read.
            await asyncio.sleep(wait_time_in_seconds)


def _still_waiting(lock: TicketLock, ticket: int) -> bool:
    return any(held.number == ticket and not held.has_expired() for held in lock.tickets)
