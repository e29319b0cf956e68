"""Order status, order updates sent later by the shop, and delivery times."""

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import ShopAction, customer_id, describe, fmt_date, mentioned_order, resolve_order
from bot.actions.messages import say
from shop.orders import STATE_LABELS
from shop.service import Shop


class ActionOrderStatus(ShopAction):
    """Where is my order: by number, or the customer's own orders (a choice when several). The answer
    itself is the response utter_order_status, filled from the slots set here."""

    def name(self) -> Text:
        return "action_order_status"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        order, events = resolve_order(dispatcher, tracker, shop, "order_status")
        if order is None:
            return events + [SlotSet("order_found", False)]
        # utter_order_status (next in the rules) says it, so it can go out as a template too.
        return events + [
            SlotSet("order_found", True),
            SlotSet("order_summary", describe(order)),
            SlotSet("order_state", STATE_LABELS[order.status]),
            SlotSet("order_eta", fmt_date(order.eta)),
        ]

    def unavailable_events(self) -> List[Dict[Text, Any]]:
        return [SlotSet("order_found", False)]


class ActionOrderUpdate(ShopAction):
    """Fills the slots of `utter_order_update` when the shop reports a change (EXTERNAL_order_update)."""

    def name(self) -> Text:
        return "action_order_update"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        number = mentioned_order(tracker) or tracker.get_slot("order_id")
        order = shop.order(customer_id(tracker), number) if number else None
        if order is None:
            return [SlotSet("order_state", None), SlotSet("order_eta", None)]
        return [
            SlotSet("order_id", order.number),
            SlotSet("order_state", STATE_LABELS[order.status]),
            SlotSet("order_eta", fmt_date(order.eta)),
        ]


class ActionDeliveryPeriod(ShopAction):
    """How long delivery takes, with the expected date of each order on its way."""

    def name(self) -> Text:
        return "action_delivery_period"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        on_the_way = shop.orders(customer_id(tracker), states=("shipped", "out_for_delivery"), limit=3)
        say(dispatcher, "delivery_period")
        for order in on_the_way:
            say(dispatcher, "order_eta", order_id=order.number, order_eta=fmt_date(order.eta))
        return []
