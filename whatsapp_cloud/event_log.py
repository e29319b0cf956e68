"""An append-only record of what happened (inbound, statuses, duplicates, errors) in a Redis Stream.

Analytics, audits and privacy exports read it; nothing on the message path depends on it.
"""

import json
import time
from typing import Any

import redis.asyncio as aioredis

from whatsapp_cloud import redis_keys

MAX_LENGTH = 5_000_000


class EventLog:
    def __init__(self, store: aioredis.Redis, stream: str = redis_keys.EVENT_STREAM) -> None:
        self.store = store
        self.stream = stream

    async def record(self, kind: str, **fields: Any) -> None:
        entry = {"kind": kind, "at": repr(time.time())}
        for name, value in fields.items():
            if value is None or value == "":
                continue
            entry[name] = value if isinstance(value, (str, int, float)) else json.dumps(value)
        await self.store.xadd(self.stream, entry, maxlen=MAX_LENGTH, approximate=True)
