"""What every workflow action shares: the shop, who is writing, which order they mean."""

import logging
import re
from abc import ABC, abstractmethod
from datetime import date
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.asking import MAX_ASKS, MAX_CHOICES, order_choice_buttons, turns_asking_which_order
from bot.actions.messages import say
from bot.nlp.addresses import looks_like_address
from shop.db import ShopUnavailable
from shop.orders import STATE_LABELS, normalize_order_number
from shop.service import OrderView, Shop
from stack import components

logger = logging.getLogger(__name__)



class ShopAction(Action, ABC):
    """An action that works on the order database. When the database is down the customer is
    told so honestly and offered a person; the error is logged and nothing crashes."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        try:
            return await self.act(dispatcher, tracker, components.shop())
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


# Words that mark the number after them as an order's: "order 1002", "#1002", "order no. 1002".
ORDER_MARK = re.compile(r"(?:\border|\bord|\bno\.?|\bnr\.?|\bnumber|#)\s*[:#]?\s*$", re.IGNORECASE)


def mentioned_order(tracker: Tracker) -> Optional[str]:
    """The order number in the latest message (typed, or from a button payload). In a message shaped
    like an address only a number marked as an order's counts: a postcode is no order number."""
    text = tracker.latest_message.get("text") or ""
    address = looks_like_address(text)
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") != "order_id":
            continue
        number = normalize_order_number(entity.get("value"))
        start = entity.get("start")
        marked = str(entity.get("value", "")).startswith("#") or (
            isinstance(start, int) and ORDER_MARK.search(text[:start]) is not None)
        if address and not marked:
            continue
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
    if turns_asking_which_order(tracker, intent) >= MAX_ASKS:
        say(dispatcher, "which_order_person", buttons=[
            {"title": "Talk to a person", "payload": '/human_handoff{"handoff_reason":"fallback"}'},
            {"title": "No, thanks", "payload": "/deny"},
        ])
        return None, []
    say(dispatcher, "which_order", buttons=order_choice_buttons(intent, orders))
    return None, []
