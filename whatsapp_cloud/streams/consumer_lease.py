"""One live process per consumer name.

Pending webhook entries belong to a consumer name: a process restarted under the same name takes up
its own unfinished entries at once. Two live processes sharing a name would take each other's entries
and run the same turns, so each consuming process holds a short lease on its name, renews it while it
runs, and refuses to start while another live process holds it. After a crash the lease lapses within
LEASE_SECONDS and the restarted process takes the name again.
"""

import asyncio
import logging
import os
import socket
import uuid
from typing import Optional

import redis.asyncio as aioredis

from whatsapp_cloud import redis_keys
from whatsapp_cloud.redis_values import as_text

logger = logging.getLogger(__name__)

LEASE_SECONDS = 15

# KEYS[1] the lease. ARGV: our token, seconds (RENEW_IF_OURS); our token (RELEASE_IF_OURS).
RENEW_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


async def lease_alive(store: aioredis.Redis, name: str) -> bool:
    """Whether a live process consumes under `name` now (it holds the name's lease)."""
    return bool(await store.exists(redis_keys.consumer_lease(name)))


class ConsumerNameTaken(RuntimeError):
    """Another live process consumes under this name."""


def default_consumer_name(port: str) -> str:
    """Unique on a host (one Rasa port per process) and stable across restarts of the same process."""
    return f"rasa-{socket.gethostname()}-{port}"


class ConsumerLease:
    def __init__(self, store: aioredis.Redis, name: str, seconds: float = LEASE_SECONDS) -> None:
        self.store = store
        self.name = name
        self.key = redis_keys.consumer_lease(name)
        self.seconds = seconds
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renew = store.register_script(RENEW_IF_OURS)
        self._release = store.register_script(RELEASE_IF_OURS)

    async def acquire(self, wait_seconds: Optional[float] = None) -> None:
        """Take the name, waiting for a crashed holder's lease to lapse; ConsumerNameTaken if it stays held."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.seconds + 2 if wait_seconds is None else wait_seconds)
        while True:
            if await self.store.set(self.key, self.token, nx=True, ex=self._ttl()):
                return
            holder = as_text(await self.store.get(self.key) or b"")
            if holder == self.token:
                return
            if loop.time() >= deadline:
                raise ConsumerNameTaken(
                    f"consumer name {self.name!r} is held by a live process ({holder}); give each Rasa process "
                    "its own WHATSAPP_CONSUMER_NAME")
            await asyncio.sleep(min(0.5, self.seconds / 4))

    async def renew(self) -> bool:
        """Keep the name; False when another process holds it now (our lease lapsed)."""
        return bool(await self._renew(keys=[self.key], args=[self.token, self._ttl()]))

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.token])

    def _ttl(self) -> int:
        return max(1, round(self.seconds))
