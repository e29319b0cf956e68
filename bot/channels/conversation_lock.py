"""Rasa's Redis lock store, except that a turn never waits for ever for its conversation's lock.

Rasa serves a conversation's tickets in order and drops a ticket once its lifetime (60 s) has passed. A
waiter whose own ticket lapsed before it was served waits for good: the lock record stays, and no ticket in
it is ever its own. That happens when a turn cut off by a Redis outage leaves its ticket behind and the
retried turn's ticket lapses within the second between two looks at the lock (`make proof`, scenario c: a
customer's later messages were never answered). Here such a waiter gets LockError instead, which the webhook
consumer treats as passing: the message is tried again with a fresh ticket.
"""

import asyncio
from typing import Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig


class ConversationLockStore(RedisLockStore):
    """`lock_store: type: bot.channels.conversation_lock.ConversationLockStore` with the options of Rasa's
    `redis` lock store."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                raise LockError(f"the lock of conversation '{conversation_id}' lapsed while its turn waited")
            if not lock.is_locked(ticket):
                return lock
            if not _still_waiting(lock, ticket):
                raise LockError(f"ticket {ticket} of conversation '{conversation_id}' lapsed before its turn")
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)


def _still_waiting(lock: TicketLock, ticket: int) -> bool:
    return any(held.number == ticket and not held.has_expired() for held in lock.tickets)
