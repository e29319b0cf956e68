"""An order number typed as the answer to "Which order do you mean?".

The question comes with a button per order (`/cancel_order{"order_id": "1002"}`, see
`order_choice_buttons`). A customer who types the number instead of tapping ("1002", "#1002",
"the 1002 one") sends the intent `choose_order`; this action reads the question's buttons and puts
the message back as the question's own intent with that order, so the flow goes on exactly as after
a tap. With no question pending, a bare order number asks for that order's status.
"""

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.asking import order_choice_intent

DEFAULT_INTENT = "order_status"


def pending_choice(tracker: Tracker) -> Optional[str]:
    """The intent of the order buttons in the bot's last turn (before the latest customer message)."""
    seen_latest_message = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_latest_message:
                return None  # an earlier turn: its question was answered or left
            seen_latest_message = True
        elif kind == "bot" and seen_latest_message:
            for button in (event.get("data") or {}).get("buttons") or []:
                intent = order_choice_intent(str(button.get("payload", "")))
                if intent:
                    return intent
    return None


# Requests about one order that a correction ("no, I meant 1003") right after the answer repeats.
ORDER_REQUESTS = {"order_status", "get_invoice", "get_refund", "track_refund", "cancel_order",
                  "change_order", "change_shipping_address"}
CORRECTION = re.compile(r"\b(?:meant|mean|wrong|sorry|actually|instead|oops|other)\b", re.IGNORECASE)


def corrected_request(tracker: Tracker) -> Optional[str]:
    """The intent of the customer's previous message when the latest one corrects its order."""
    if not CORRECTION.search(tracker.latest_message.get("text") or ""):
        return None
    users = [e for e in tracker.events if e.get("event") == "user"]
    previous = ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name") if len(users) > 1 else None
    return previous if previous in ORDER_REQUESTS else None


class ActionChooseOrder(Action):
    """Replaces the `choose_order` message by the intent of the question it answers."""

    def name(self) -> Text:
        return "action_choose_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        # "no, I meant 1003" to "Cancel order 1002?" asks about 1003 instead.
        confirming_cancel = "cancel_order" if tracker.get_slot("pending_cancel") else None
        # "no, I meant 1003" right after the invoice of 1002 asks for the invoice of 1003.
        intent = pending_choice(tracker) or confirming_cancel or corrected_request(tracker) or DEFAULT_INTENT
        return retell(tracker, intent)


def retell(tracker: Tracker, intent: str) -> List[Dict[Text, Any]]:
    """Events that forget the latest message and hear it again as `intent`, entities kept."""
    latest = tracker.latest_message
    parse_data = {
        "text": latest.get("text"),
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
        # Without empty fields (the entity ruler gives no confidence): Rasa checks the event's schema.
        "entities": [{k: v for k, v in e.items() if v is not None} for e in latest.get("entities") or []],
    }
    # As Rasa's own two-stage fallback does: forget the message, then hear it again as `intent`
    # (same text, entities, WhatsApp metadata and id), and the rules take it from there.
    retold = {
        "event": "user",
        "timestamp": None,
        "text": latest.get("text"),
        "parse_data": parse_data,
        "input_channel": tracker.get_latest_input_channel(),
        "message_id": latest.get("message_id"),
        "metadata": latest.get("metadata") or {},
    }
    return [UserUtteranceReverted(), ActionExecuted("action_listen"), retold]
