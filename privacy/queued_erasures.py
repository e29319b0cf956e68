"""Carries out the erasures customers asked for in the chat when `PRIVACY_ERASE_ON_REQUEST` allows it.

The bot only queues the request (privacy/tickets.py) and says its last words in that same turn: erasing
while Rasa still handles the turn would let it write the tracker back afterwards. So an erasure is due a
little later (`ERASE_DELAY_SECONDS`, time for the reply and its delivery status to pass) and waits while
Rasa holds the conversation's lock (at most a minute: a lock older than Rasa's lock lifetime is left over).
A customer who is queued for or talking with an agent is not erased: the ticket stays for an administrator,
with the reason.

Run by the handoff service's background loop every couple of seconds; safe in several workers at once (a
lease per customer).
"""

import logging
import time
from typing import Optional

from privacy import requests, tickets
from privacy.identity import Subject
from privacy.stores import LOCK_PREFIX

logger = logging.getLogger(__name__)

ERASE_DELAY_SECONDS = 20.0
BY = "the customer, in the WhatsApp chat"
LOCK_WAIT_SECONDS = 60.0  # Rasa's lock lifetime: a lock still there after that is left over from a crash
LEASE_SECONDS = 300  # one worker erases a customer; long enough for a scan and the append-only file rewrite


def lease_key(wa_id: str) -> str:
    return f"privacy:erasing:{wa_id}"


class QueuedErasures:
    def __init__(self, stores: requests.Stores) -> None:
        self.stores = stores

    def run(self, now: Optional[float] = None) -> int:
        """Carries out every queued erasure that is due; returns how many were done."""
        now = time.time() if now is None else now
        client = self.stores.redis
        done = 0
        for ticket in tickets.listed(client):
            if ticket.kind != tickets.ERASE or ticket.state != tickets.QUEUED or ticket.due_at > now:
                continue
            if client.exists(LOCK_PREFIX + ticket.wa_id) and now < ticket.due_at + LOCK_WAIT_SECONDS:
                continue  # Rasa is handling a message of this customer: after that turn
            if not client.set(lease_key(ticket.wa_id), "1", nx=True, ex=LEASE_SECONDS):
                continue  # another worker is on it
            try:
                done += self._erase(ticket)
            finally:
                client.delete(lease_key(ticket.wa_id))
        return done

    def _erase(self, ticket: tickets.Ticket) -> int:
        subject = Subject.of(ticket.wa_id, self.stores.policy.hash_key)
        try:
            receipt = requests.erase(self.stores, subject, by=BY)
        except requests.CustomerWithAgent as exc:
            tickets.set_state(self.stores.redis, ticket, tickets.OPEN, f"not erased at once: {exc}")
            logger.info("queued erasure of %s left to an administrator: chat open", ticket.customer[:12])
            return 0
        tickets.close(self.stores.redis, tickets.ERASE, ticket.wa_id)  # found and erased already; to be sure
        logger.info("queued erasure of %s carried out", receipt["customer"][:12])
        return 1
