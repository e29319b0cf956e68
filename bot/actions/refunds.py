"""Refunds: asked for once per order, and tracked."""

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.common import ShopAction, customer_id, describe, mentioned_order, resolve_order
from bot.actions.messages import say
from shop.orders import REFUND_LABELS, money
from shop.service import RefundView, Shop

REFUND_CANDIDATE_STATES = ("delivered", "returned", "shipped", "out_for_delivery")


def refund_text(refund: RefundView) -> str:
    return (
        f"Refund for order {refund.order_number} ({money(refund.amount_cents, refund.currency)}): "
        f"{REFUND_LABELS[refund.status]}."
    )


class ActionGetRefund(ShopAction):
    """Creates a refund request for a delivered or returned order, at most once per order."""

    def name(self) -> Text:
        return "action_get_refund"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        states = None if mentioned_order(tracker) else REFUND_CANDIDATE_STATES
        order, events = resolve_order(dispatcher, tracker, shop, "get_refund", states=states)
        if order is None:
            return events
        outcome = shop.request_refund(customer_id(tracker), order.number, reason=tracker.latest_message.get("text"))
        if outcome.result == "requested" and outcome.refund is not None:
            say(dispatcher, "refund_requested", refund_status=refund_text(outcome.refund))
        elif outcome.result == "exists" and outcome.refund is not None:
            say(dispatcher, "refund_exists", refund_status=refund_text(outcome.refund))
        elif outcome.result == "cancel_instead":
            say(dispatcher, "refund_cancel_instead", order_id=order.number)
        elif outcome.result == "not_yet":
            say(dispatcher, "refund_not_yet", order_status=describe(order))
        else:  # not_paid
            say(dispatcher, "refund_not_paid", order_id=order.number)
        return events


class ActionTrackRefund(ShopAction):
    """The state of the customer's refunds (of one order when they named it)."""

    def name(self) -> Text:
        return "action_track_refund"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        number = mentioned_order(tracker)
        refunds = shop.refunds(customer_id(tracker), number)
        if not refunds:
            say(dispatcher, "no_refunds")
            return []
        text = "\n".join(refund_text(r) for r in refunds[:5])
        say(dispatcher, "refund_status", refund_status=text)
        return [SlotSet("order_id", refunds[0].order_number)] if number else []


class ActionRefundUpdate(ShopAction):
    """Fills the slots of `utter_refund_update` when the shop reports a change (EXTERNAL_refund_update)."""

    def name(self) -> Text:
        return "action_refund_update"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        number = mentioned_order(tracker) or tracker.get_slot("order_id")
        refunds = shop.refunds(customer_id(tracker), number) if number else []
        if not refunds:
            return [SlotSet("refund_state", None), SlotSet("refund_amount", None)]
        refund = refunds[0]
        return [
            SlotSet("order_id", refund.order_number),
            SlotSet("refund_state", REFUND_LABELS[refund.status]),
            SlotSet("refund_amount", money(refund.amount_cents, refund.currency)),
        ]
