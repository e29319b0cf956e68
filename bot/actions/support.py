"""Complaints, payment problems, the clarifying question when unsure, and satisfaction ratings."""

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import events
from bot.actions.common import ShopAction, customer_id, mentioned_order, wamid
from bot.actions.messages import say
from bot.nlp.addresses import looks_like_address
from bot.nlp.ratings import typed_rating
from shop.db import ShopUnavailable
from shop.orders import money
from shop.service import Shop
from stack import components
from whatsapp_cloud.events import kinds

logger = logging.getLogger(__name__)


def human_buttons(reason: str) -> List[Dict[str, str]]:
    return [
        {"title": "Talk to a person", "payload": f'/human_handoff{{"handoff_reason":"{reason}"}}'},
        {"title": "No, thanks", "payload": "/deny"},
    ]


class ActionComplaint(ShopAction):
    """Opens one ticket per complaint: a repeated message or a retried webhook finds the same ticket."""

    def name(self) -> Text:
        return "action_complaint"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        number = mentioned_order(tracker) or tracker.get_slot("order_id")
        if number and shop.order(customer_id(tracker), number) is None:
            number = None  # not theirs: the ticket is about the customer, not that number
        ticket = shop.open_ticket(
            customer_id(tracker), "complaint", tracker.latest_message.get("text") or "", wamid(tracker),
            order_number=number,
        )
        if ticket.created:
            events.record(kinds.TICKET_OPENED, ticket=ticket.id, customer=customer_id(tracker),
                          ticket_kind=ticket.kind, order=ticket.order_number)
        key = "complaint_logged" if ticket.created else "complaint_exists"
        say(dispatcher, key, buttons=human_buttons("complaint"), ticket=str(ticket.id))
        return []


class ActionPaymentIssue(ShopAction):
    """Payment trouble: names the orders still waiting for payment, and offers a person."""

    def name(self) -> Text:
        return "action_payment_issue"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        unpaid = shop.orders(customer_id(tracker), states=("placed",), limit=3)
        if unpaid:
            listing = ", ".join(f"{o.number} ({money(o.total_cents, o.currency)})" for o in unpaid)
            say(dispatcher, "payment_pending", orders=listing)
        say(dispatcher, "payment_issue", buttons=human_buttons("customer_request"))
        return []


# What a suggested intent reads as on a button (at most 20 characters).
INTENT_TITLES = {
    "order_status": "Where's my order",
    "cancel_order": "Cancel an order",
    "change_order": "Change an order",
    "change_shipping_address": "Change address",
    "get_refund": "Get a refund",
    "track_refund": "Track a refund",
    "refund_policy": "Refund policy",
    "delivery_period": "Delivery times",
    "delivery_options": "Delivery options",
    "payment_issue": "Payment problem",
    "payment_methods": "Ways to pay",
    "get_invoice": "Get my invoice",
    "complaint": "Make a complaint",
    "human_handoff": "Talk to a person",
}


class ActionClarify(Action):
    """Unsure what the customer meant: the two likeliest topics as buttons; unsure twice in a row,
    a person is offered."""

    def name(self) -> Text:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if self._unsure_before(tracker):
            say(dispatcher, "offer_human", buttons=human_buttons("fallback"))
            return []
        ranking = tracker.latest_message.get("intent_ranking") or []
        best = [r["name"] for r in ranking if r.get("name") in INTENT_TITLES][:2]
        if looks_like_address(tracker.latest_message.get("text") or ""):
            # An address out of the blue (often right after a change was refused) is about delivery.
            best = ["change_shipping_address"] + [n for n in best if n != "change_shipping_address"][:1]
        buttons = [{"title": INTENT_TITLES[name], "payload": f"/{name}"} for name in best]
        buttons.append(human_buttons("fallback")[0])
        say(dispatcher, "clarify", buttons=buttons)
        return []

    @staticmethod
    def _unsure_before(tracker: Tracker) -> bool:
        """Whether the customer's previous message was not understood either."""
        users = [e for e in tracker.events if e.get("event") == "user"]
        if len(users) < 2:
            return False
        previous = ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name")
        return previous == "nlu_fallback"


class ActionOutOfScope(Action):
    """A request the shop's bot does not serve: what it can do, and a person."""

    def name(self) -> Text:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        say(dispatcher, "out_of_scope", buttons=human_buttons("fallback"))
        return []


class ActionDefaultFallback(Action):
    """Rasa's core fallback (no rule knows the next step), with a way to a person: the message is
    forgotten, so the conversation goes on as if it had not been sent."""

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        say(dispatcher, "not_followed", buttons=human_buttons("fallback")[:1])
        return [UserUtteranceReverted()]


class ActionStoreCsat(Action):
    """Stores the customer's rating (1-5) once per message."""

    def name(self) -> Text:
        return "action_store_csat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        raw = (next(tracker.get_latest_entity_values("csat_score"), None) or tracker.get_slot("csat_score")
               or typed_rating(tracker.latest_message.get("text") or ""))
        try:
            score = int(str(raw).strip())
            if not 1 <= score <= 5:
                raise ValueError
        except (TypeError, ValueError):
            say(dispatcher, "csat_invalid")
            return [SlotSet("csat_score", None)]
        try:
            topic = tracker.get_slot("csat_topic") or ("handoff" if tracker.get_slot("handoff_resolution") else None)
            if components.shop().record_csat(customer_id(tracker), score, topic, wamid(tracker)):
                events.record(kinds.CSAT, customer=customer_id(tracker), score=score, topic=topic)
        except ShopUnavailable as exc:
            logger.error("rating %s of %s not stored: %s", score, components.customer_ref(customer_id(tracker)), exc)
        say(dispatcher, "csat_thanks" if score >= 3 else "csat_sorry")
        return [SlotSet("csat_score", None), SlotSet("csat_topic", None), SlotSet("handoff_resolution", None)]
