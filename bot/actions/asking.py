"""The bot's questions: "which order?" buttons, and how often the same question was asked (never a
third time: a person is offered instead)."""

import json
import re
from typing import Dict, List, Optional, Sequence

from rasa_sdk import Tracker

from shop.service import OrderView

MAX_ASKS = 2
MAX_CHOICES = 10  # a WhatsApp list message holds 10 rows
ORDER_CHOICE = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})$")


def order_choice_buttons(intent: str, orders: Sequence[OrderView]) -> List[Dict[str, str]]:
    """Buttons that ask the same thing again for one order; the channel turns 4-10 into a list."""
    return [
        {"title": f"Order {o.number}"[:20], "payload": f"/{intent}{json.dumps({'order_id': o.number})}"}
        for o in orders[:MAX_CHOICES]
    ]


def order_choice_intent(payload: str) -> Optional[str]:
    """The intent of a button made by order_choice_buttons, None for any other payload."""
    match = ORDER_CHOICE.match(payload)
    try:
        entities = json.loads(match.group("entities")) if match else None
    except ValueError:
        return None
    return match.group("intent") if isinstance(entities, dict) and "order_id" in entities else None


def times_asked(tracker: Tracker, form: str, slot: str) -> int:
    """How often the form `form` has asked for `slot` since it was last started (Rasa records a
    `requested_slot` event with every question a form asks)."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == form:
            break
        if event.get("event") == "slot" and event.get("name") == "requested_slot" and event.get("value") == slot:
            count += 1
    return count


def turns_asking_which_order(tracker: Tracker, intent: str) -> int:
    """How many of the customer's turns in a row, before the latest message, the bot answered with
    "which order?" buttons for `intent`."""
    count, asked_in_turn = 0, False
    for event in reversed(tracker.events[: _latest_user_index(tracker)]):
        kind = event.get("event")
        if kind == "bot" and _asks_which_order(event, intent):
            asked_in_turn = True
        elif kind == "user":
            if not asked_in_turn:
                break
            count, asked_in_turn = count + 1, False
    return count + (1 if asked_in_turn else 0)


def _latest_user_index(tracker: Tracker) -> int:
    for index in range(len(tracker.events) - 1, -1, -1):
        if tracker.events[index].get("event") == "user":
            return index
    return len(tracker.events)


def _asks_which_order(event: dict, intent: str) -> bool:
    buttons = (event.get("data") or {}).get("buttons") or []
    return any(order_choice_intent(str(b.get("payload", ""))) == intent for b in buttons)
