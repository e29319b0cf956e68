"""One customer's messages in the order they arrived, whichever consumer process takes each one.

When a webhook is stored, each customer whose messages it carries gets the next number of their own
sequence (a ticket), in the same Lua script that appends it to the stream: tickets follow the stream's
order. A consumer runs a customer's part of an entry only once the customer's previous ticket is done,
and marks its ticket done when the entry is settled: acknowledged, or buried in the dead letters (so a
message that can never be handled does not hold the customer up). Rasa's lock store is not what keeps
the order; it only keeps two turns of one conversation from interleaving.

Failure modes. A consumer that dies holds its entries until another takes them over (its consumer
lease lapses: `WebhookStream.reclaim_from_dead`); the customer's later messages wait meanwhile. A ticket
whose entry is gone (trimmed from an overflowing stream, deleted by hand) would hold the customer up for
ever: after `wait_limit` seconds the waiting message runs anyway, and the gap is recorded
(`order_gap` in wa:events). Entries stored without tickets (by an older version) run at once.
"""

import asyncio
import logging
import time
from typing import Dict, Mapping, Sequence, Tuple

import redis.asyncio as aioredis

from whatsapp_cloud import redis_keys
from whatsapp_cloud.redis_values import as_text

logger = logging.getLogger(__name__)

TICKETS_FIELD = "tickets"
ORDER_KEY_SECONDS = 8 * 24 * 3600  # as long as Meta retries a webhook, after a customer's last message
DEFAULT_WAIT_LIMIT = 600.0

# Append a webhook with a ticket per customer, atomically: tickets follow the stream's order.
# KEYS[1] the webhook stream, KEYS[2..] wa:order:{customer} of each customer in the body.
# ARGV: body, received_at, stream MAXLEN, seconds the order keys are kept, then each customer (as KEYS[2..]).
APPEND = """
local tickets = {}
for i = 2, #KEYS do
  local n = redis.call('HINCRBY', KEYS[i], 'issued', 1)
  redis.call('EXPIRE', KEYS[i], ARGV[4])
  tickets[#tickets + 1] = ARGV[3 + i] .. '=' .. n
end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'body', ARGV[1], 'received_at', ARGV[2],
                  'tickets', table.concat(tickets, ','))
"""

# Mark tickets done; `done` only moves forward (a late or repeated settle changes nothing).
# KEYS[1..] wa:order:{customer}; ARGV[i] the ticket of KEYS[i].
COMPLETE = """
for i = 1, #KEYS do
  local done = tonumber(redis.call('HGET', KEYS[i], 'done') or '0')
  if tonumber(ARGV[i]) > done then redis.call('HSET', KEYS[i], 'done', ARGV[i]) end
end
return #KEYS
"""


def parse_tickets(raw: object) -> Dict[str, int]:
    """`{customer: ticket}` from an entry's `tickets` field ("15551230001=7,15551230002=3")."""
    tickets: Dict[str, int] = {}
    for part in as_text(raw or b"").split(","):
        customer, _, number = part.rpartition("=")
        if customer and number.isdigit():
            tickets[customer] = int(number)
    return tickets


class CustomerOrder:
    def __init__(self, store: aioredis.Redis, wait_limit: float = DEFAULT_WAIT_LIMIT,
                 poll_seconds: float = 0.05) -> None:
        self.store = store
        self.wait_limit = wait_limit
        self.poll_seconds = poll_seconds
        self._append = store.register_script(APPEND)
        self._complete = store.register_script(COMPLETE)

    async def append(self, stream: str, fields: Mapping[str, object], customers: Sequence[str],
                     max_length: int) -> str:
        customers = sorted(set(customers))
        entry_id = await self._append(
            keys=[stream, *(redis_keys.customer_order(c) for c in customers)],
            args=[fields["body"], fields["received_at"], max_length, ORDER_KEY_SECONDS, *customers])
        return as_text(entry_id)

    async def wait_turn(self, customer: str, ticket: int) -> Tuple[bool, float]:
        """Wait until the customer's previous ticket is done: (True, seconds waited), or (False, seconds)
        when `wait_limit` passed first."""
        began = time.monotonic()
        pause = self.poll_seconds
        while True:
            done = int(as_text(await self.store.hget(redis_keys.customer_order(customer), "done") or b"0"))
            waited = time.monotonic() - began
            if done >= ticket - 1:
                return True, waited
            if waited > self.wait_limit:
                return False, waited
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def complete(self, tickets: Mapping[str, int]) -> None:
        if tickets:
            customers = sorted(tickets)
            await self._complete(keys=[redis_keys.customer_order(c) for c in customers],
                                 args=[tickets[c] for c in customers])
