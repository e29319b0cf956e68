"""Click-to-chat entry points: the links admins make (blocking, for the handoff service) and the attribution
of a customer's message that carries a link's reference (async, for the WhatsApp channel's inbound hook).

A customer who arrives through a link keeps it on their record (`keys.entry_point`): the latest link and
the first, written with the `entry_point` event in one script, so a message handled twice (Meta's retry
after a crash) is attributed once. What this module leaves out: drawing the QR codes (qr_codes.py) and the
link's text rules (entry_links.py).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

import redis
import redis.asyncio as aioredis

from campaigns import entry_links, keys
from campaigns.entry_links import InvalidLink
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.webhooks.inbound import InboundMessage

# KEYS[1] the link (hash), KEYS[2] the links index (sorted set)
# ARGV[1] the reference, ARGV[2] created at (Unix seconds), ARGV[3..] the link's fields and values
CREATE = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('hset', KEYS[1], unpack(ARGV, 3))
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS[1] the link (hash), KEYS[2] the customer's entry record (hash), KEYS[3] the event stream
# ARGV[1] wamid, ARGV[2] the customer's wa_id, ARGV[3] when they sent it, ARGV[4] now (Unix seconds),
# ARGV[5] the record's expiry (seconds), ARGV[6] the stream's length bound, ARGV[7] the event kind
# Returns the link's source (a message already attributed changes nothing), or false for an unknown reference.
ATTRIBUTE = """
local ref = redis.call('hget', KEYS[1], 'ref')
if not ref then return false end
local source = redis.call('hget', KEYS[1], 'source')
if redis.call('hget', KEYS[2], 'wamid') == ARGV[1] then return source end
redis.call('hset', KEYS[2], 'ref', ref, 'source', source, 'at', ARGV[3], 'wamid', ARGV[1])
if redis.call('hsetnx', KEYS[2], 'first_ref', ref) == 1 then
  redis.call('hset', KEYS[2], 'first_source', source, 'first_at', ARGV[3])
end
redis.call('expire', KEYS[2], ARGV[5])
redis.call('hincrby', KEYS[1], 'arrivals', 1)
redis.call('xadd', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', 'kind', ARGV[7], 'at', ARGV[4],
           'wamid', ARGV[1], 'sender', ARGV[2], 'ref', ref, 'source', source)
return source
"""

ATTEMPTS = 5  # fresh references to try when one is taken (31^6 of them: a clash is rare)


class LinkNotFound(KeyError):
    def __str__(self) -> str:
        return f"no click-to-chat link {self.args[0]}"


class NoBusinessNumber(RuntimeError):
    def __str__(self) -> str:
        return "click-to-chat links need the business number: set WHATSAPP_DISPLAY_PHONE_NUMBER"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _record(stored: Dict[Any, Any]) -> Dict[str, Any]:
    link: Dict[str, Any] = {_text(k): _text(v) for k, v in stored.items()}
    link["arrivals"] = int(link.get("arrivals", 0))  # messages that came with its reference
    link["created_at"] = float(link.get("created_at", 0))
    return link


class EntryLinks:
    """Make, list and read click-to-chat links (blocking Redis: the handoff service, commands)."""

    def __init__(self, store: redis.Redis, number: str) -> None:
        self.redis = store
        self.number = number  # the business number in the links; "" when not configured
        self._create = store.register_script(CREATE)

    def create(self, source: str, text: str, created_by: str = "") -> Dict[str, Any]:
        if not self.number:
            raise NoBusinessNumber()
        for _ in range(ATTEMPTS):
            made = entry_links.link_text(source, text, entry_links.new_reference())
            now = time.time()
            fields = {"ref": made.reference, "source": made.source, "prefilled": made.prefilled,
                      "url": entry_links.url(self.number, made.prefilled), "created_by": created_by,
                      "created_at": repr(now)}
            flat = [part for pair in fields.items() for part in pair]
            if self._create(keys=[keys.link(made.reference), keys.LINKS], args=[made.reference, repr(now), *flat]):
                return self.get(made.reference)
        raise InvalidLink("no free reference was found; try again")

    def get(self, reference: str) -> Dict[str, Any]:
        reference = reference.upper()
        stored = self.redis.hgetall(keys.link(reference)) if reference.isalnum() else {}
        if not stored:
            raise LinkNotFound(reference)
        return _record(stored)

    def list(self, limit: int = 500) -> List[Dict[str, Any]]:
        """The newest links first."""
        references = [_text(r) for r in self.redis.zrevrange(keys.LINKS, 0, limit - 1)]
        pipe = self.redis.pipeline(transaction=False)
        for reference in references:
            pipe.hgetall(keys.link(reference))
        return [_record(stored) for stored in pipe.execute() if stored]


class Attribution:
    """Records the link a customer's message came from (async Redis: the WhatsApp channel)."""

    def __init__(self, store: aioredis.Redis, retention_seconds: int, events_max: int) -> None:
        self.redis = store
        self.retention_seconds = retention_seconds
        self.events_max = events_max
        self._attribute = store.register_script(ATTRIBUTE)

    async def attribute(self, message: InboundMessage) -> Optional[Dict[str, str]]:
        """The link's reference and source if this message carries a known reference, else None."""
        reference = entry_links.reference_in(message.text) if message.type == "text" else None
        if reference is None:
            return None
        now = time.time()
        sent_at = message.timestamp if message.timestamp > 0 else int(now)
        source = await self._attribute(
            keys=[keys.link(reference), keys.entry_point(message.sender), redis_keys.EVENT_STREAM],
            args=[message.wamid, message.sender, sent_at, repr(now), self.retention_seconds, self.events_max,
                  kinds.ENTRY_POINT])
        return {"ref": reference, "source": _text(source)} if source else None

    async def recorded_for(self, message: InboundMessage) -> Optional[Dict[str, str]]:
        """The link this very message was attributed to (for the bot's turn), else None."""
        if message.type != "text" or entry_links.reference_in(message.text) is None:
            return None  # most messages: no read at all
        ref, source, wamid = await self.redis.hmget(keys.entry_point(message.sender), "ref", "source", "wamid")
        if wamid is None or _text(wamid) != message.wamid:
            return None
        return {"ref": _text(ref), "source": _text(source)}


def entry_point_of(store: redis.Redis, wa_id: str) -> Dict[str, str]:
    """The link a customer came from (latest and first), as recorded; {} when none is."""
    return {_text(k): _text(v) for k, v in store.hgetall(keys.entry_point(wa_id)).items()}
