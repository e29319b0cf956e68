"""A customer's data rights asked in the chat ("delete my data", "send me a copy of my data"): the bot says
what will happen and asks; a yes becomes a ticket for an administrator (privacy/tickets.py), or, for an
erasure with `PRIVACY_ERASE_ON_REQUEST`, is queued and carried out right after this turn by the handoff
service's background loop (privacy/queued_erasures.py). The erasure never runs inside the turn: Rasa would
write the tracker back after it.

`privacy_request` holds what was asked ("erase" or "copy") between the question and the answer.
"""

import asyncio
import logging
import time
from typing import Any, Dict, List, Optional, Text

import redis
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.messages import say
from privacy import tickets
from privacy.identity import Subject
from privacy.queued_erasures import ERASE_DELAY_SECONDS
from stack import components

logger = logging.getLogger(__name__)

ERASE_BUTTONS = [{"title": "Yes, erase my data", "payload": "/affirm"}, {"title": "No, keep it", "payload": "/deny"}]
COPY_BUTTONS = [{"title": "Yes, send a copy", "payload": "/affirm"}, {"title": "No, thanks", "payload": "/deny"}]


class ActionAskDataErasure(Action):
    def name(self) -> Text:
        return "action_ask_data_erasure"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, "privacy_erasure_explained", buttons=ERASE_BUTTONS)
        return [SlotSet("privacy_request", tickets.ERASE)]


class ActionAskDataCopy(Action):
    def name(self) -> Text:
        return "action_ask_data_copy"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, "privacy_copy_explained", buttons=COPY_BUTTONS)
        return [SlotSet("privacy_request", tickets.COPY)]


class ActionConfirmPrivacyRequest(Action):
    """The customer said yes: record the ticket (or queue the erasure), then say so."""

    def name(self) -> Text:
        return "action_confirm_privacy_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        kind = tracker.get_slot("privacy_request")
        if kind not in tickets.KINDS:
            dispatcher.utter_message(response="utter_how_can_i_help")
            return [SlotSet("privacy_request", None)]
        at_once = kind == tickets.ERASE and components.privacy_erase_on_request()
        try:
            await asyncio.to_thread(record, str(tracker.sender_id), kind,
                                    time.time() + ERASE_DELAY_SECONDS if at_once else None)
        except (redis.RedisError, ValueError) as exc:
            logger.error("privacy request of %s not recorded: %s", components.customer_ref(str(tracker.sender_id)),
                         type(exc).__name__)
            say(dispatcher, "privacy_unavailable")
            return [SlotSet("privacy_request", None)]
        if kind == tickets.COPY:
            say(dispatcher, "privacy_copy_requested")
        else:
            say(dispatcher, "privacy_erasure_queued" if at_once else "privacy_erasure_requested")
        logger.info("privacy request (%s%s) of %s recorded", kind, ", queued" if at_once else "",
                    components.customer_ref(str(tracker.sender_id)))
        return [SlotSet("privacy_request", None)]


class ActionKeepData(Action):
    """The customer said no: nothing is recorded."""

    def name(self) -> Text:
        return "action_keep_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, "privacy_kept")
        return [SlotSet("privacy_request", None)]


def record(wa_id: str, kind: str, due_at: Optional[float], redis_url: Optional[str] = None) -> tickets.Ticket:
    """The ticket in Redis, with the customer's keyed hash (ValueError for a sender that is no number)."""
    url = redis_url or components.environment().get("REDIS_URL")
    if not url:
        raise RuntimeError("the action server needs REDIS_URL to record privacy requests")
    subject = Subject.of(wa_id, components.privacy_hash_key())
    client = components.redis_client(url=url, decode_responses=True, socket_timeout=5)
    try:
        return tickets.record(client, subject, kind, due_at=due_at)
    finally:
        client.close()
