"""The campaigns' send rate per business number, shared by every worker through Redis.

A send may start only while fewer than `limit` campaign sends are in flight or finished within the last
second. Every message Meta accepted arrived while its send was in flight, so in any one-second window Meta
sees at most `limit` of them, however the network delays each request (a token bucket bounds starts, not
arrivals). The governor's own buckets (throughput and pair rate) still apply to each send.
"""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager
from typing import AsyncIterator

import redis.asyncio as aioredis

from campaigns import keys, lua

IN_FLIGHT_SECONDS = 130  # longer than any send with its retries; a crashed worker's slots free after it
POLL_SECONDS = 0.05  # longest sleep between asks while slots are all in flight


class Pacer:
    def __init__(self, store: aioredis.Redis, phone_number_id: str, limit: int, window_seconds: float = 1.0) -> None:
        self.key = keys.pace(phone_number_id)
        self.limit = limit
        self.window = window_seconds
        self._take = store.register_script(lua.TAKE_SLOT)
        self._free = store.register_script(lua.FREE_SLOT)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        while True:
            wait_ms = int(await self._take(keys=[self.key], args=[self.limit, self.window, token, IN_FLIGHT_SECONDS]))
            if not wait_ms:
                break
            await asyncio.sleep(min(wait_ms / 1000, POLL_SECONDS))
        try:
            yield
        finally:
            await self._free(keys=[self.key], args=[token])
