"""Payloads of the buttons and list rows the business offered each customer.

A reply to a button carries the button's id, which the channel gives Rasa as an intent
(`/order_status{"order_id":"1001"}`). Only ids the business itself sent may do that: whatever else
arrives as a reply is read as the customer's words. Every send records the ids it offers here.
"""

import time
from typing import Any, Dict, List

import redis.asyncio as aioredis

from whatsapp_cloud import redis_keys
from whatsapp_cloud.redis_connection import async_transaction

KEEP_SECONDS = 30 * 24 * 3600  # a customer may tap a button of an old message
MAX_PER_CUSTOMER = 200  # the most recent ones; older buttons then read as text


def payloads_in(message: Dict[str, Any]) -> List[str]:
    """Reply-button ids, list-row ids and template quick-reply payloads of a Cloud API message body."""
    found: List[str] = []
    interactive = message.get("interactive") if isinstance(message.get("interactive"), dict) else {}
    action = interactive.get("action") if isinstance(interactive.get("action"), dict) else {}
    for button in action.get("buttons") or []:
        reply = button.get("reply") if isinstance(button, dict) else None
        if isinstance(reply, dict) and isinstance(reply.get("id"), str):
            found.append(reply["id"])
    for section in action.get("sections") or []:
        for row in (section.get("rows") or []) if isinstance(section, dict) else []:
            if isinstance(row, dict) and isinstance(row.get("id"), str):
                found.append(row["id"])
    template = message.get("template") if isinstance(message.get("template"), dict) else {}
    for component in template.get("components") or []:
        if isinstance(component, dict) and component.get("sub_type") == "quick_reply":
            for parameter in component.get("parameters") or []:
                if isinstance(parameter, dict) and isinstance(parameter.get("payload"), str):
                    found.append(parameter["payload"])
    return found


class OfferedPayloads:
    def __init__(self, store: aioredis.Redis) -> None:
        self.store = store

    async def remember(self, recipient: str, message: Dict[str, Any]) -> None:
        payloads = payloads_in(message)
        if not payloads:
            return
        key = redis_keys.offered_payloads(recipient)
        now = time.time()
        async with await async_transaction(self.store, key) as tx:
            tx.zadd(key, {payload: now for payload in payloads})
            tx.zremrangebyrank(key, 0, -MAX_PER_CUSTOMER - 1)
            tx.expire(key, KEEP_SECONDS)
            await tx.execute()

    async def was_offered(self, recipient: str, payload: str) -> bool:
        return await self.store.zscore(redis_keys.offered_payloads(recipient), payload) is not None
