"""Webhook stream entries that could not be handled: kept with the reason, listed, and replayable.

An entry goes here when it can never succeed (not a webhook at all, a bug or bad data in one of its
items) or when it failed `max_attempts` times in a row; it is then acknowledged, so one poison entry
never holds up the stream. Replaying appends the body to the webhook stream again: messages already
answered are recognised by their claims and not answered twice. The operator command is
`python -m tools.dead_letters`.
"""

import time
from typing import Dict, List

import redis.asyncio as aioredis

from whatsapp_cloud import metrics, redis_keys
from whatsapp_cloud.redis_connection import async_transaction
from whatsapp_cloud.redis_values import as_text
from whatsapp_cloud.streams.webhook_stream import WebhookStream
from whatsapp_cloud.webhooks import inbound

DEFAULT_MAX_ATTEMPTS = 5
MAX_LENGTH = 100_000  # the oldest dead letters go first; each one is also in wa:events and the logs
MAX_REASON_CHARS = 2000


class WebhookDeadLetters:
    def __init__(
        self, store: aioredis.Redis, stream: str = redis_keys.WEBHOOK_STREAM,
        group: str = redis_keys.WEBHOOK_GROUP, dead: str = redis_keys.WEBHOOK_DEAD,
        attempts: str = redis_keys.WEBHOOK_ATTEMPTS,
    ) -> None:
        self.store = store
        self.stream, self.group, self.dead, self.attempts = stream, group, dead, attempts

    async def failed_attempt(self, entry_id: str) -> int:
        """Count one more failed try of an entry; how many there have been."""
        return int(await self.store.hincrby(self.attempts, entry_id, 1))

    async def succeeded(self, entry_id: str) -> None:
        await self.store.hdel(self.attempts, entry_id)

    async def bury(self, entry_id: str, body: bytes, reason: str, attempts: int, kind: str) -> str:
        """Move an entry here and acknowledge it in the webhook stream, in one transaction."""
        fields = {"entry": entry_id, "body": body, "reason": reason[:MAX_REASON_CHARS], "kind": kind,
                  "attempts": str(attempts), "at": repr(time.time())}
        async with await async_transaction(self.store, self.dead) as tx:  # keys of one slot: redis_keys
            tx.xadd(self.dead, fields, maxlen=MAX_LENGTH, approximate=True)
            tx.xack(self.stream, self.group, entry_id)
            tx.hdel(self.attempts, entry_id)
            dead_id, *_ = await tx.execute()
        metrics.WEBHOOKS_DEAD.labels(kind).inc()
        return as_text(dead_id)

    async def list(self, count: int = 100) -> List[Dict[str, str]]:
        entries = await self.store.xrange(self.dead, count=count)
        return [{"id": as_text(i), **{as_text(k): as_text(v) for k, v in f.items() if k != b"body"}}
                for i, f in entries]

    async def replay(self, dead_id: str) -> str:
        """Put a dead letter's body back on the webhook stream (its customers get new tickets: their old
        ones were settled when it was buried); the new entry's id."""
        found = await self.store.xrange(self.dead, min=dead_id, max=dead_id)
        if not found:
            raise KeyError(f"no dead webhook {dead_id}")
        body = found[0][1].get(b"body", b"")
        try:
            customers = [m.sender for m in inbound.messages(inbound.load(body))]
        except inbound.MalformedWebhook:
            customers = []  # buried again by the consumer, with the reason
        stream = WebhookStream(self.store, "replay", self.stream, self.group)
        new_id = await stream.append(body, customers)
        # A crash before this delete leaves the letter to be replayed again: its messages' claims say they
        # were handled, so nobody is answered twice.
        await self.store.xdel(self.dead, dead_id)
        return new_id

    async def replay_all(self) -> List[str]:
        return [await self.replay(letter["id"]) for letter in await self.list(count=MAX_LENGTH)]
