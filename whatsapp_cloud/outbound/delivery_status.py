"""Delivery state of each outbound message, kept monotonic in Redis.

Meta's status webhooks arrive duplicated, out of order, and sometimes skip `delivered`;
a late `delivered` after `read` must not move the state back. `failed` is final.
"""

import json
import time
from typing import Any, Dict, Optional

import redis.asyncio as aioredis

from whatsapp_cloud import redis_keys
from whatsapp_cloud.redis_values import as_text
from whatsapp_cloud.webhooks.inbound import StatusUpdate

RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 9}
KEEP_SECONDS = 30 * 24 * 3600
SEEN_SECONDS = 8 * 24 * 3600  # Meta retries a webhook for up to 7 days
HANDLING_SECONDS = 120  # a status's handler that died frees it after this (its entry is retried later)

# Merge the fields that arrived; move `status` only when the new one ranks higher. One script,
# so two webhooks handled at once by two processes cannot interleave.
# KEYS[1] the message's record. ARGV: rank of the new status, seconds kept, status, its time, then field,
# value pairs (an empty value leaves the field). Returns 1 when the status moved.
_UPDATE = """
local current = tonumber(redis.call('HGET', KEYS[1], 'rank') or '0')
local rank = tonumber(ARGV[1])
for i = 5, #ARGV, 2 do
  if ARGV[i + 1] ~= '' then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if rank > current then
  redis.call('HSET', KEYS[1], 'rank', rank, 'status', ARGV[3], 'status_at', ARGV[4])
  return 1
end
return 0
"""


class DeliveryStatus:
    def __init__(self, store: aioredis.Redis) -> None:
        self.store = store
        self._update = store.register_script(_UPDATE)

    async def claim(self, update: StatusUpdate) -> bool:
        """True for the one handler of this (wamid, status): Meta's duplicate deliveries are dropped.

        The claim is short-lived until `done`: if its handler fails (`release`) or dies, the status is
        handled again when its stream entry is retried, so a re-plan or an opt-out is never lost.
        """
        key = redis_keys.status_seen(update.wamid, update.status)
        return bool(await self.store.set(key, "handling", nx=True, ex=HANDLING_SECONDS))

    async def done(self, update: StatusUpdate) -> None:
        """Every effect of the status is stored: remember it for as long as Meta may deliver it again."""
        await self.store.set(redis_keys.status_seen(update.wamid, update.status), "done", ex=SEEN_SECONDS)

    async def release(self, update: StatusUpdate) -> None:
        await self.store.delete(redis_keys.status_seen(update.wamid, update.status))

    async def apply(self, update: StatusUpdate) -> bool:
        """Record the update; True when it moved the message's state forward."""
        rank = RANK.get(update.status, 0)  # a status Meta adds later is recorded, never ranked
        fields: Dict[str, Any] = {
            "recipient": update.recipient,
            f"{update.status}_at": str(update.timestamp),
        }
        if update.pricing:
            fields.update({f"pricing_{k}": _text(v) for k, v in update.pricing.items()})
        if update.conversation:
            origin = (update.conversation.get("origin") or {}).get("type")
            fields.update({
                "conversation_id": _text(update.conversation.get("id")),
                "conversation_origin": _text(origin),
                "conversation_expires_at": _text(update.conversation.get("expiration_timestamp")),
            })
        if update.errors:
            fields.update({
                "error_code": _text(update.errors[0].get("code")),
                "error_details": _text((update.errors[0].get("error_data") or {}).get("details")
                                       or update.errors[0].get("message")),
            })
        if update.biz_opaque_callback_data:
            fields["biz_opaque_callback_data"] = update.biz_opaque_callback_data
        args: list = [rank, KEEP_SECONDS, update.status, str(update.timestamp)]
        for name, value in fields.items():
            args += [name, value]
        key = redis_keys.outbound_message(update.wamid)
        return bool(await self._update(keys=[key], args=args))

    async def get(self, wamid: str) -> Dict[str, str]:
        raw = await self.store.hgetall(redis_keys.outbound_message(wamid))
        return {as_text(k): as_text(v) for k, v in raw.items()}

    async def record_sent(self, wamid: str, recipient: str, **fields: Optional[str]) -> None:
        """The API accepted a message: it exists before its first status webhook."""
        mapping = {"recipient": recipient, "accepted_at": str(int(time.time()))}
        mapping.update({k: v for k, v in fields.items() if v})
        key = redis_keys.outbound_message(wamid)
        await self.store.hset(key, mapping=mapping)
        await self.store.expire(key, KEEP_SECONDS)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

