"""Replies to campaign and notification messages: which campaign and template a customer is answering.

When a campaign or a notification message is sent, its wamid is recorded with where it came from
(`record_origin`, `campaigns:origin:{wamid}`, kept CAMPAIGN_RETENTION_DAYS). A customer's reply to it carries
that wamid in `context.id` (a quoted reply, a quick-reply button of the template): the WhatsApp channel's
inbound hook (`CampaignReplies.record`) writes `campaign_reply` to `wa:events` once per reply (analytics counts
replies per campaign and template from it), and the bot's turn gets `wa_campaign` and `wa_template` in the
message metadata (`metadata_for`). A customer who writes without quoting the message is not matched here;
the campaign's own `replied` status (sending.py) counts any message within the reply window.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

import redis
import redis.asyncio as aioredis

from campaigns import keys
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.redis_programs import Program, run_sync
from whatsapp_cloud.webhooks.inbound import InboundMessage

REPLY_SEEN_SECONDS = 8 * 86400  # Meta redelivers a webhook for up to 7 days
FIELDS = ("origin", "campaign", "campaign_name", "template", "language")

# KEYS[1] the origin of the quoted message, KEYS[2] the reply's seen-marker, KEYS[3] the event stream.
# ARGV: reply wamid, sender, now, events MAXLEN, event kind, marker seconds.
# The origin's fields (FIELDS order) or false; the event is written once per reply however often it is handled.
RECORD_REPLY = """
local origin = redis.call('hmget', KEYS[1], 'origin', 'campaign', 'campaign_name', 'template', 'language')
if not origin[4] then return false end
if redis.call('set', KEYS[2], '1', 'NX', 'EX', ARGV[6]) then
  redis.call('xadd', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'kind', ARGV[5], 'at', ARGV[3], 'wamid', ARGV[1],
             'sender', ARGV[2], 'origin', origin[1], 'campaign', origin[2], 'template', origin[4],
             'language', origin[5])
end
return origin
"""


def record_origin_program(wamid: str, kind: str, template: str, language: str, seconds: int,
                          campaign: str = "", campaign_name: str = "") -> Program:
    """`kind` is campaign or notification."""
    key = keys.origin(wamid)
    yield [("hset_many", (key, {"origin": kind, "campaign": campaign, "campaign_name": campaign_name,
                                "template": template, "language": language})),
           ("expire", (key, seconds))]


def record_origin(store: redis.Redis, wamid: str, kind: str, template: str, language: str, seconds: int) -> None:
    """For blocking code (the handoff service's notifications)."""
    run_sync(store, record_origin_program(wamid, kind, template, language, seconds))


def metadata_for(origin: Optional[Dict[str, str]]) -> Dict[str, Any]:
    """What the bot's turn gets in its message metadata."""
    if not origin:
        return {}
    return {"wa_campaign": {"kind": origin["origin"], "id": origin["campaign"], "name": origin["campaign_name"]},
            "wa_template": {"name": origin["template"], "language": origin["language"]}}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


class CampaignReplies:
    """The channel's side (async Redis)."""

    def __init__(self, store: aioredis.Redis, events_max: int) -> None:
        self.redis = store
        self.events_max = events_max
        self._record = store.register_script(RECORD_REPLY)

    async def record(self, message: InboundMessage) -> Optional[Dict[str, str]]:
        """The origin of the message this one replies to, if it was a campaign's or a notification's."""
        quoted = _quoted(message)
        if not quoted:
            return None
        found = await self._record(keys=[keys.origin(quoted), keys.reply_seen(message.wamid), redis_keys.EVENT_STREAM],
                                   args=[message.wamid, message.sender, repr(time.time()), self.events_max,
                                         kinds.CAMPAIGN_REPLY, REPLY_SEEN_SECONDS])
        return dict(zip(FIELDS, (_text(v) for v in found), strict=True)) if found else None

    async def origin_of(self, message: InboundMessage) -> Optional[Dict[str, str]]:
        quoted = _quoted(message)
        if not quoted:
            return None  # most messages: no read at all
        found = await self.redis.hmget(keys.origin(quoted), *FIELDS)
        return dict(zip(FIELDS, (_text(v) for v in found), strict=True)) if found[3] else None


def _quoted(message: InboundMessage) -> str:
    quoted = (message.context or {}).get("id")
    return str(quoted) if quoted else ""
