"""An append-only record of what happened (inbound, statuses, duplicates, errors) in a Redis Stream.

Analytics, audits and privacy exports read it; nothing on the message path depends on it.
"""

import json
import time
from typing import Any, Dict, Optional

import redis.asyncio as aioredis

from whatsapp_cloud import redis_keys
from whatsapp_cloud.retention import Retention

# The newest entries kept unless the deployment says otherwise (WHATSAPP_EVENTS_MAXLEN, passed in as
# `max_length`); every writer of the stream trims to the deployment's bound.
MAX_LENGTH = Retention().event_stream_max


class EventLog:
    def __init__(self, store: aioredis.Redis, stream: str = redis_keys.EVENT_STREAM,
                 max_length: Optional[int] = None) -> None:
        self.store = store
        self.stream = stream
        self.max_length = max_length or MAX_LENGTH

    async def record(self, kind: str, **fields: Any) -> None:
        await self.store.xadd(self.stream, entry(kind, **fields), maxlen=self.max_length, approximate=True)


def entry(kind: str, **fields: Any) -> Dict[str, Any]:
    """One stream entry; also queued directly by writers that add it inside their own transaction."""
    result: Dict[str, Any] = {"kind": kind, "at": repr(time.time())}
    for name, value in fields.items():
        if value is None or value == "":
            continue
        result[name] = value if isinstance(value, (str, int, float)) else json.dumps(value)
    return result
