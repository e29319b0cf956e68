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

from bot.actions.handoff import customer_language, escalation_request, ticket_for
from bot.actions.handoff_service import HandoffUnavailable, escalate
from bot.actions.language_replies import reply_for
from bot.actions.messages import say
from stack import components

logger = logging.getLogger(__name__)


class ActionOtherLanguage(Action):
    def name(self) -> Text:
        return "action_other_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        language = next(tracker.get_latest_entity_values("language"), None) or customer_language(tracker) or ""
        reply = reply_for(language)
        request = escalation_request(tracker, "language", language)
        try:
            await escalate(request)
        except HandoffUnavailable as exc:
            logger.error("handoff service unavailable for %s: %s", components.customer_ref(request["customer"]), exc)
            if ticket_for(tracker, request, f"language {language}") is None:
                say(dispatcher, "handoff_unavailable")
                return []
        # Once: a customer who writes again before anyone answered is not told the same thing twice.
        if _last_bot_text(tracker) != reply:
            dispatcher.utter_message(text=reply)
        return [SlotSet("customer_language", language or None)]


def _last_bot_text(tracker: Tracker) -> Optional[str]:
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return event.get("text")
    return None
