"""An order number typed as the answer to "Which order do you mean?".

The question comes with a button per order (`/cancel_order{"order_id": "1002"}`, see
`order_choice_buttons`). A customer who types the number instead of tapping ("1002", "#1002",
"the 1002 one") sends the intent `choose_order`; this action reads the question's buttons and puts
the message back as the question's own intent with that order, so the flow goes on exactly as after
a tap. With no question pending, a bare order number asks for that order's status.
"""

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


class ActionChooseOrder(Action):
    """Replaces the `choose_order` message by the intent of the question it answers."""

    def name(self) -> Text:
        return "action_choose_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        # "no, I meant 1003" to "Cancel order 1002?" asks about 1003 instead.
        confirming_cancel = "cancel_order" if tracker.get_slot("pending_cancel") else None
        return retell(tracker, pending_choice(tracker) or confirming_cancel or DEFAULT_INTENT)


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
