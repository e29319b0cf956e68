"""The two change forms: a new shipping address, or another change to the order (items, delivery
day). Both only work before the order ships."""

from abc import ABC, abstractmethod
from datetime import date, timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.common import ShopAction, backend_down, customer_id, describe, order_choice_buttons, wamid
from bot.actions.dates import parse_date
from bot.actions.messages import say
from bot.nlp.words import other_words
from bot.shop.db import ShopUnavailable
from bot.shop.models import CHANGEABLE_STATES
from bot.shop.orders import normalize_order_number
from bot.shop.service import Shop

FORM_INTENTS = {"change_order_form": "change_order", "change_shipping_address_form": "change_shipping_address"}
LATEST_DELIVERY_DAYS = 60


class ChangeFormValidation(FormValidationAction, ABC):
    """Shared by both forms: the order must be the customer's and not shipped yet."""

    @abstractmethod
    def name(self) -> Text:
        """validate_<form name>"""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        events = await super().run(dispatcher, tracker, domain)
        # The SDK returns only validated form slots; a block found while extracting must reach Rasa too.
        if tracker.get_slot("change_blocked") and not any(e.get("name") == "change_blocked" for e in events):
            events.append(SlotSet("change_blocked", True))
        return events

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        # Nothing to change: the form ends at once and the submit action says nothing more.
        return [] if tracker.get_slot("change_blocked") else domain_slots

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """When no order is named: the only changeable order is taken; with none, the form stops."""
        if tracker.get_slot("order_id") or tracker.get_slot("requested_slot") not in (None, "order_id"):
            return {}
        try:
            changeable = Shop.from_env().orders(customer_id(tracker), states=CHANGEABLE_STATES)
        except ShopUnavailable as exc:
            backend_down(dispatcher, exc)
            return {"change_blocked": True}
        if len(changeable) == 1:
            return {"order_id": changeable[0].number}
        if not changeable:
            say(dispatcher, "nothing_changeable")
            return {"change_blocked": True}
        return {}

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        number = normalize_order_number(value)
        try:
            order = Shop.from_env().order(customer_id(tracker), number) if number else None
        except ShopUnavailable as exc:
            backend_down(dispatcher, exc)
            return {"order_id": None, "change_blocked": True}
        if order is None:
            say(dispatcher, "order_not_found", order_id=number or str(value))
            return {"order_id": None}
        if not order.changeable:
            say(dispatcher, "change_too_late", order_status=describe(order))
            return {"order_id": None}
        return {"order_id": order.number}


class ValidateChangeShippingAddressForm(ChangeFormValidation):
    def name(self) -> Text:
        return "validate_change_shipping_address_form"

    def validate_shipping_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        address = " ".join(str(value or "").split())
        if not 10 <= len(address) <= 300 or not any(c.isdigit() for c in address):
            say(dispatcher, "address_invalid")
            return {"shipping_address": None}
        return {"shipping_address": address}


# Words of a bare request to change an order ("can i change my order 1002 please"): a message of only
# these says that something should change, not what.
REQUEST_WORDS = frozenset(
    "i i'd id want wanna would like need to can could you please pls plz change changes modify edit amend "
    "update alter my the an a order orders something in on of it is possible how do hi hello hey".split()
)


def describes_a_change(text: str) -> bool:
    """Whether the text says what to change ("make it 2 shirts instead of 1"), beyond asking to."""
    return len([w for w in other_words(text, REQUEST_WORDS) if not normalize_order_number(w)]) >= 2


class ValidateChangeOrderForm(ChangeFormValidation):
    def name(self) -> Text:
        return "validate_change_order_form"

    async def extract_order_change(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The change told in the message that opened the form is not asked for again."""
        opening = tracker.get_slot("requested_slot") is None and not tracker.get_slot("order_change")
        message = tracker.latest_message
        if opening and (message.get("intent") or {}).get("name") == "change_order":
            text = message.get("text") or ""
            if describes_a_change(text):
                return {"order_change": text}
        return {}

    def validate_order_change(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        details = " ".join(str(value or "").split())
        if len(details) < 4:
            say(dispatcher, "order_change_too_short")
            return {"order_change": None}
        # A date in this very message (the entity, or read from the text); an older one is not meant.
        wanted = parse_date(next(tracker.get_latest_entity_values("date"), None)) or parse_date(details)
        if wanted is None:
            return {"order_change": details, "delivery_date": None}
        problem = delivery_date_problem(wanted)
        if problem:
            say(dispatcher, "delivery_date_invalid", delivery_date=f"{wanted:%a %d %b}",
                                     reason=problem)
            return {"order_change": None, "delivery_date": None}
        return {"order_change": details, "delivery_date": wanted.isoformat()}


def delivery_date_problem(wanted: date, today: Optional[date] = None) -> Optional[str]:
    today = today or date.today()
    if wanted <= today:
        return "we need at least a day to arrange it"
    if wanted > today + timedelta(days=LATEST_DELIVERY_DAYS):
        return f"we can plan at most {LATEST_DELIVERY_DAYS} days ahead"
    return None


class ActionAskOrderId(Action):
    """Asks which order, with the orders that can still be changed as buttons."""

    def name(self) -> Text:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = FORM_INTENTS.get(tracker.active_loop_name or "", "change_order")
        try:
            orders = Shop.from_env().orders(customer_id(tracker), states=CHANGEABLE_STATES)
        except ShopUnavailable:
            orders = []
        say(dispatcher, "ask_order_id", buttons=order_choice_buttons(intent, orders))
        return []


class ActionSubmitAddressChange(ShopAction):
    def name(self) -> Text:
        return "action_submit_address_change"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        reset = [SlotSet("shipping_address", None), SlotSet("change_blocked", None)]
        if tracker.get_slot("change_blocked"):
            return reset
        number, address = tracker.get_slot("order_id"), tracker.get_slot("shipping_address")
        outcome = shop.change_address(customer_id(tracker), number, address)
        if outcome.result == "changed":
            say(dispatcher, "address_changed", order_id=number, shipping_address=address)
            dispatcher.utter_message(response="utter_ask_csat")
        elif outcome.order is not None:
            say(dispatcher, "change_too_late", order_status=describe(outcome.order))
        else:
            say(dispatcher, "order_not_found", order_id=number)
        return reset + [SlotSet("csat_topic", "change_shipping_address")]


class ActionSubmitOrderChange(ShopAction):
    def name(self) -> Text:
        return "action_submit_order_change"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, shop: Shop) -> List[Dict[Text, Any]]:
        reset = [SlotSet("order_change", None), SlotSet("delivery_date", None), SlotSet("change_blocked", None)]
        if tracker.get_slot("change_blocked"):
            return reset
        number, details = tracker.get_slot("order_id"), tracker.get_slot("order_change")
        wanted = parse_date(tracker.get_slot("delivery_date"))
        outcome = shop.request_change(customer_id(tracker), number, details, wanted, wamid(tracker))
        if outcome.result == "requested":
            say(dispatcher, "order_change_requested", order_id=number, order_change=details)
            if wanted:
                say(dispatcher, "delivery_date_noted", delivery_date=f"{wanted:%a %d %b}"
                )
            dispatcher.utter_message(response="utter_ask_csat")
        elif outcome.order is not None:
            say(dispatcher, "change_too_late", order_status=describe(outcome.order))
        else:
            say(dispatcher, "order_not_found", order_id=number)
        return reset + [SlotSet("csat_topic", "change_order")]


class ActionAskShippingAddress(Action):
    def name(self) -> Text:
        return "action_ask_shipping_address"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        say(dispatcher, "ask_shipping_address")
        return []


class ActionAskOrderChange(Action):
    def name(self) -> Text:
        return "action_ask_order_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        say(dispatcher, "ask_order_change")
        return []
