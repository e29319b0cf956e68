"""Opt-out and opt-in from the WhatsApp thread, recorded in the consent ledger (Redis) before confirming.

The channel turns an exact keyword ("STOP", "BAJA", "START", ...) or the opt-out button into the
`/opt_out` / `/opt_in` intent and records it at once; these actions record it too (idempotently, for
opt-outs and opt-ins Rasa recognises on its own) and set `consent_changed`. The confirmation that the
rules send next (utter_opt_out_confirmed / utter_opt_in_confirmed) has text only when it is true: one
confirmation per change, none for a repeated STOP. After an opt-out nothing business-initiated goes out
until an opt-in.
"""

import os
from typing import Any, Dict, List, Optional, Text

import redis.asyncio as aioredis
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.consent import SCOPES
from whatsapp_cloud.policy.store import PolicyStore

SOURCE = "whatsapp_thread"


class _RecordsConsent:
    """What both actions do (a mixin, not an Action: the action server registers every Action subclass)."""

    status = ""
    wording = ""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        metadata = tracker.latest_message.get("metadata") or {}
        changed_by_channel = bool(metadata.get("wa_consent_changed"))
        said = metadata.get("wa_consent_text") or tracker.latest_message.get("text") or ""
        changed = await record(tracker.sender_id, self.status, self.wording.format(said=said))
        return [SlotSet("consent_changed", bool(changed) or changed_by_channel)]


class ActionOptOut(_RecordsConsent, Action):
    status = "out"
    wording = "Customer asked in the WhatsApp chat to stop messages: {said!r}"

    def name(self) -> Text:
        return "action_opt_out"


class ActionOptIn(_RecordsConsent, Action):
    status = "in"
    wording = "Customer asked in the WhatsApp chat to receive order updates and offers again: {said!r}"

    def name(self) -> Text:
        return "action_opt_in"


async def record(recipient: str, status: str, wording: str, redis_url: Optional[str] = None) -> tuple:
    """Record an opt-out/opt-in for every scope; the scopes it changed (none if it was already so)."""
    url = redis_url or os.environ.get("REDIS_URL")
    if not url:
        raise RuntimeError("the action server needs REDIS_URL to reach the consent ledger")
    connection = aioredis.Redis.from_url(url)
    try:
        return await PolicyStore(connection, PolicyConfig.from_env()).record_consent(
            recipient, status, SCOPES, SOURCE, wording)
    finally:
        await connection.close()
