"""Cancelling an order: only before it ships, after the customer confirms, once."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.choice import retell
from bot.actions.common import ShopAction, customer_id, describe, mentioned_order, resolve_order
from bot.actions.messages import say
from shop.models import CHANGEABLE_STATES
from shop.orders import money
from shop.service import Shop

CONFIRM_BUTTONS = [
    {"title": "Yes, cancel it", "payload": "/affirm"},
    {"title": "No, keep it", "payload": "/deny"},
]


class ActionCancelOrder(ShopAction):
    """Finds the order and asks for confirmation; `pending_cancel` holds the order to cancel."""

    def name(self) -> Text:
        return "action_cancel_order"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        # Without a number, only orders that can still be cancelled are offered.
        states = None if mentioned_order(tracker) else CHANGEABLE_STATES
        order, events = resolve_order(dispatcher, tracker, shop, "cancel_order", states=states)
        if order is None:
            return events + [SlotSet("pending_cancel", None)]
        if order.status == "cancelled":
            say(dispatcher, "already_cancelled", order_id=order.number)
            return events + [SlotSet("pending_cancel", None)]
        if not order.changeable:
            say(dispatcher, "cancel_too_late", order_status=describe(order))
            return events + [SlotSet("pending_cancel", None)]
        say(dispatcher, "confirm_cancel",
            order_id=order.number,
            order_total=money(order.total_cents, order.currency),
            buttons=CONFIRM_BUTTONS,
        )
        return events + [SlotSet("pending_cancel", order.number)]


class ActionConfirmCancel(ShopAction):
    """The customer said yes: cancel (a second time only reports it is already cancelled)."""

    def name(self) -> Text:
        return "action_confirm_cancel"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        number = tracker.get_slot("pending_cancel")
        if not number:
            say(dispatcher, "nothing_to_cancel")
            return []
        outcome = shop.cancel(customer_id(tracker), number)
        if outcome.result == "cancelled":
            say(dispatcher, "cancelled", order_id=number)
            if outcome.refund is not None:
                say(dispatcher, "cancel_refund",
                    refund_amount=money(outcome.refund.amount_cents, outcome.refund.currency),
                )
            dispatcher.utter_message(response="utter_ask_csat")
        elif outcome.result == "already_cancelled":
            say(dispatcher, "already_cancelled", order_id=number)
        elif outcome.result == "too_late" and outcome.order is not None:
            say(dispatcher, "cancel_too_late", order_status=describe(outcome.order))
        else:
            say(dispatcher, "order_not_found", order_id=number)
        return [SlotSet("pending_cancel", None), SlotSet("csat_topic", "cancel_order")]


class ActionKeepOrder(Action):
    """The customer said no: nothing changes."""

    def name(self) -> Text:
        return "action_keep_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        pending, named = tracker.get_slot("pending_cancel"), mentioned_order(tracker)
        if named and named != pending:
            # "no, 1003" is a correction: that order is asked about instead.
            return [SlotSet("pending_cancel", None)] + retell(tracker, "cancel_order")
        say(dispatcher, "cancel_kept", order_id=pending or "")
        return [SlotSet("pending_cancel", None)]
