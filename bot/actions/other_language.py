"""A customer writing in a language the bot does not speak: one message in it, then a person.

The NLU pipeline sets `other_language` with the entity `language` (bot/nlp/language_detection.py).
The escalation carries the language, so the handoff service can prefer an agent who speaks it and
the inbox shows it. Only one message goes to the customer, in their language: the English queue
position and wait would not help them.
"""

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import customer_id, profile_name, wamid
from bot.actions.handoff import conversation_summary, customer_language, serializable_slots, topic_intent
from bot.actions.handoff_service import HandoffUnavailable, escalate
from bot.actions.language_replies import reply_for
from bot.actions.messages import say
from bot.shop.db import ShopUnavailable
from bot.shop.service import Shop
from whatsapp_cloud.pseudonyms import customer_ref

logger = logging.getLogger(__name__)


class ActionOtherLanguage(Action):
    def name(self) -> Text:
        return "action_other_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        language = next(tracker.get_latest_entity_values("language"), None) or customer_language(tracker) or ""
        reply = reply_for(language)
        request = {
            "customer": customer_id(tracker),
            "profile_name": profile_name(tracker),
            "reason": "language",
            "intent": topic_intent(tracker),
            "language": language or None,
            "slots": serializable_slots(tracker),
            "summary": conversation_summary(tracker),
        }
        try:
            await escalate(request)
        except HandoffUnavailable as exc:
            logger.error("handoff service unavailable for %s: %s", customer_ref(request["customer"]), exc)
            if not self._ticket(tracker, request):
                say(dispatcher, "handoff_unavailable")
                return []
        # Once: a customer who writes again before anyone answered is not told the same thing twice.
        if _last_bot_text(tracker) != reply:
            dispatcher.utter_message(text=reply)
        return [SlotSet("customer_language", language or None)]

    @staticmethod
    def _ticket(tracker: Tracker, request: Dict[str, Any]) -> bool:
        """The service is down: the request is kept as a ticket for the team (False: not even that)."""
        try:
            Shop.from_env().open_ticket(
                request["customer"], "handoff", f"[language {request['language']}] {request['summary']}",
                wamid(tracker), order_number=tracker.get_slot("order_id"),
            )
        except ShopUnavailable as exc:
            logger.error("no ticket either for %s: %s", customer_ref(request["customer"]), exc)
            return False
        return True


def _last_bot_text(tracker: Tracker) -> Optional[str]:
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return event.get("text")
    return None
