"""What every workflow action shares: the shop, who is writing, which order they mean."""

import json
import logging
import re
from abc import ABC, abstractmethod
from datetime import date
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.messages import say
from bot.shop.db import ShopUnavailable
from bot.shop.orders import STATE_LABELS, normalize_order_number
from bot.shop.service import OrderView, Shop

logger = logging.getLogger(__name__)

MAX_CHOICES = 10  # a WhatsApp list message holds 10 rows
ORDER_CHOICE = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})$")


class ShopAction(Action, ABC):
    """An action that works on the order database. When the database is down the customer is
    told so honestly and offered a person; the error is logged and nothing crashes."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        try:
            return await self.act(dispatcher, tracker, Shop.from_env())
        except ShopUnavailable as exc:
            backend_down(dispatcher, exc)
            return self.unavailable_events()

    def unavailable_events(self) -> List[Dict[Text, Any]]:
        """Events that keep the conversation consistent when the database could not be used."""
        return []

    @abstractmethod
    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        """The action's work, with the shop open."""


def backend_down(dispatcher: CollectingDispatcher, exc: Exception) -> None:
    logger.error("backend unavailable: %s", exc)
    say(dispatcher, "backend_down", buttons=[
        {"title": "Talk to a person", "payload": '/human_handoff{"handoff_reason":"backend_failure"}'}
    ])


def customer_id(tracker: Tracker) -> str:
    return str(tracker.sender_id)


def wamid(tracker: Tracker) -> Optional[str]:
    """The WhatsApp id of the message being answered (None for messages not from WhatsApp)."""
    metadata = tracker.latest_message.get("metadata") or {}
    return metadata.get("wamid")


def profile_name(tracker: Tracker) -> Optional[str]:
    """The name on the customer's WhatsApp profile, from their latest message that carried one."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            name = (event.get("metadata") or {}).get("wa_profile_name")
            if name:
                return str(name)
    return None


def mentioned_order(tracker: Tracker) -> Optional[str]:
    """The order number in the latest message (typed, or from a button payload)."""
    for value in tracker.get_latest_entity_values("order_id"):
        number = normalize_order_number(value)
        if number:
            return number
    return None


def fmt_date(value: Optional[date]) -> str:
    return f"{value:%a %d %b}" if value else "not known yet"


def describe(order: OrderView) -> str:
    """One short paragraph: state, carrier, tracking and ETA."""
    text = f"Order {order.number} ({order.placed_at:%d %b}) is {STATE_LABELS[order.status]}."
    if order.carrier and order.status in ("shipped", "out_for_delivery"):
        text += f"\nCarrier: {order.carrier}, tracking {order.tracking_number}.\nExpected: {fmt_date(order.eta)}."
    elif order.carrier and order.status == "delivered":
        text += f"\nDelivered by {order.carrier} (tracking {order.tracking_number})."
    return text


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


def resolve_order(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    shop: Shop,
    intent: str,
    states: Optional[Tuple[str, ...]] = None,
    number: Optional[str] = None,
) -> Tuple[Optional[OrderView], List[Dict[str, Any]]]:
    """The order the customer means, or None after asking them (or telling them it is unknown).

    An order number of another customer gets the same answer as a number that does not exist.
    """
    number = number or mentioned_order(tracker)
    wa_id = customer_id(tracker)
    if number:
        order = shop.order(wa_id, number)
        if order is None:
            say(dispatcher, "order_not_found", order_id=number)
            return None, [SlotSet("order_id", None)]
        return order, [SlotSet("order_id", order.number)]
    orders = shop.orders(wa_id, states=states, limit=MAX_CHOICES)
    if not orders:
        say(dispatcher, "no_orders" if states is None else "no_matching_orders")
        return None, []
    if len(orders) == 1:
        return orders[0], [SlotSet("order_id", orders[0].number)]
    say(dispatcher, "which_order", buttons=order_choice_buttons(intent, orders))
    return None, []
