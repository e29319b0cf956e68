"""Opt-out and opt-in from the WhatsApp thread, recorded in the consent ledger (Redis) before confirming.

The channel turns an exact keyword ("STOP", "BAJA", "START", ...) or the opt-out / opt-in button into
the `/opt_out` / `/opt_in` intent and records it at once, with the message's own time; these actions
then only confirm (`consent_changed`). The confirmation that the rules send next
(utter_opt_out_confirmed / utter_opt_in_confirmed) has text only when it is true: one confirmation per
change, none for a repeated STOP. After an opt-out nothing business-initiated goes out until an opt-in.

An opt-out Rasa recognised on its own ("please stop messaging me") is recorded here, with the time the
customer sent the message. An opt-in is never taken from a guess of the NLU: the customer is asked a
clear question naming the business and the kind of messages, and only the tap on its "yes" button (a
payload the channel knows, `OPT_IN_PAYLOAD`) records it.
"""

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from stack import components
from whatsapp_cloud.policy.consent import OPT_IN_PAYLOAD, OPT_IN_QUESTION, SCOPES
from whatsapp_cloud.policy.store import PolicyStore

SOURCE = "whatsapp_thread"


class ActionOptOut(Action):
    def name(self) -> Text:
        return "action_opt_out"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        metadata = tracker.latest_message.get("metadata") or {}
        if "wa_consent_changed" in metadata:  # the channel recorded this very message already
            return [SlotSet("consent_changed", bool(metadata["wa_consent_changed"]))]
        said = tracker.latest_message.get("text") or ""
        changed = await record(tracker.sender_id, "out",
                               f"Customer asked in the WhatsApp chat to stop messages: {said!r}",
                               at=sent_at(metadata), phone_number_id=str(metadata.get("wa_phone_number_id") or ""))
        return [SlotSet("consent_changed", bool(changed))]


class ActionOptIn(Action):
    def name(self) -> Text:
        return "action_opt_in"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        metadata = tracker.latest_message.get("metadata") or {}
        if "wa_consent_changed" in metadata:  # a keyword or the "yes" button: recorded by the channel
            return [SlotSet("consent_changed", bool(metadata["wa_consent_changed"]))]
        # Only the NLU's guess: ask, and let the customer's explicit "yes" decide.
        dispatcher.utter_message(
            text=OPT_IN_QUESTION.format(business=components.business_name()),
            buttons=[{"title": "Yes, send them", "payload": OPT_IN_PAYLOAD},
                     {"title": "No, thanks", "payload": "/deny"}],
        )
        return [SlotSet("consent_changed", False)]


def sent_at(metadata: Dict[str, Any]) -> Optional[datetime]:
    """When the customer sent the message (WhatsApp's own timestamp), not when it is processed."""
    try:
        timestamp = int(metadata.get("wa_timestamp") or 0)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc) if timestamp > 0 else None


async def record(recipient: str, status: str, wording: str, redis_url: Optional[str] = None,
                 at: Optional[datetime] = None, phone_number_id: str = "") -> tuple:
    """Record an opt-out/opt-in for every scope; the scopes it changed (none if it was already so)."""
    url = redis_url or components.environment().get("REDIS_URL")
    if not url:
        raise RuntimeError("the action server needs REDIS_URL to reach the consent ledger")
    connection = components.async_redis_client(url=url)
    try:
        store = PolicyStore(connection, components.policy_config()).for_number(phone_number_id)
        return await store.record_consent(recipient, status, SCOPES, SOURCE, wording, at=at)
    finally:
        await connection.close()
