"""The two change forms: a new shipping address, or another change to the order (items, delivery
day). Both only work before the order ships."""

from abc import ABC, abstractmethod
from datetime import date, timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.asking import MAX_ASKS, order_choice_buttons, times_asked
from bot.actions.common import (
    ShopAction,
    backend_down,
    customer_id,
    describe,
    mentioned_order,
    wamid,
)
from bot.actions.dates import parse_date
from bot.actions.messages import say
from bot.actions.support import human_buttons
from bot.nlp.addresses import address_part
from bot.nlp.words import other_words
from shop.db import ShopUnavailable
from shop.models import CHANGEABLE_STATES
from shop.orders import normalize_order_number
from shop.service import Shop
from stack import components

FORM_INTENTS = {"change_order_form": "change_order", "change_shipping_address_form": "change_shipping_address"}
LATEST_DELIVERY_DAYS = 60


def slot_before_this_message(tracker: Tracker, name: str) -> Any:
    """The value slot `name` had before the customer's latest message."""
    value, seen_latest_message = None, False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_latest_message = True
        elif seen_latest_message and event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
        elif seen_latest_message and event.get("event") == "active_loop" and event.get("name") is None:
            break  # a finished form's order is not this one's
    return value


def answers_latest_message(tracker: Tracker, form: str) -> bool:
    """Whether the form runs on the customer's latest message. After answering a question in between
    (rules.yml), Rasa runs the validation again, on that same message, only to find the next slot."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        if event.get("event") == "action" and event.get("name") not in (form, "action_extract_slots",
                                                                          "action_listen"):
            return False
    return True


# Intents that can carry an answer after all: "no, I meant 1003", "1003".
CORRECTIONS = {"deny", "choose_order"}


def asks_or_switches(tracker: Tracker, domain: DomainDict, form: str) -> bool:
    """Whether the latest message asks something else or starts another task: its intent is listed
    under `not_intent` in the form's slot mappings (domain.yml) and is no correction."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    required = ((domain.get("forms") or {}).get(form) or {}).get("required_slots") or []
    not_answers = {
        name for slot in required for mapping in (domain.get("slots") or {}).get(slot, {}).get("mappings") or []
        for name in mapping.get("not_intent") or []
    }
    return intent in not_answers - CORRECTIONS


def number_from_other_text(tracker: Tracker, value: Any) -> bool:
    """Whether `value` was set from this message although the message names no order (the number
    is a postcode in an address): Rasa fills `order_id` from any number the entity ruler tags."""
    tagged = {e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "order_id"}
    return (
        value is not None and value != slot_before_this_message(tracker, "order_id")
        and value in tagged and mentioned_order(tracker) is None
    )


class ChangeFormValidation(FormValidationAction, ABC):
    """Shared by both forms: the order must be the customer's and not shipped yet."""

    @abstractmethod
    def name(self) -> Text:
        """validate_<form name>"""

    def form_name(self) -> Text:
        return self.name().removeprefix("validate_")

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        answering = answers_latest_message(tracker, self.form_name())
        if answering and tracker.get_slot("requested_slot") and asks_or_switches(tracker, domain, self.form_name()):
            # Not an answer, even with an order number in it ("cancel 1002 instead"): the form steps
            # aside and the rules answer the question or start the other task.
            return [ActionExecutionRejected(self.form_name())]
        events = await super().run(dispatcher, tracker, domain)
        # The SDK returns only validated form slots; a block found while extracting must reach Rasa too.
        if tracker.get_slot("change_blocked") and not any(e.get("name") == "change_blocked" for e in events):
            events.append(SlotSet("change_blocked", True))
        return self._give_up_after_two_asks(dispatcher, tracker, events) if answering else events

    def _give_up_after_two_asks(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, events: List[Dict[Text, Any]]
    ) -> List[Dict[Text, Any]]:
        """A question asked twice and still not answered is not asked a third time: the form ends
        and a person is offered."""
        asked = tracker.get_slot("requested_slot")
        if not asked or any(e.get("name") == "change_blocked" and e.get("value") for e in events):
            return events
        answered = [e for e in events if e.get("event") == "slot" and e.get("name") == asked]
        still_missing = (answered[-1].get("value") if answered else tracker.get_slot(asked)) is None
        if still_missing and times_asked(tracker, self.form_name(), asked) >= MAX_ASKS:
            say(dispatcher, "form_gave_up", buttons=human_buttons("fallback"))
            events = [e for e in events if e.get("name") != "requested_slot"]
            events += [SlotSet("change_blocked", True), SlotSet("requested_slot", None)]
        return events

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        # Nothing to change: the form ends at once and the submit action says nothing more.
        return [] if tracker.get_slot("change_blocked") else domain_slots

    async def extract_order_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """When no order is named: the only changeable order is taken; with none, the form stops.
        An order from earlier in the chat is not assumed when the form starts."""
        named = tracker.get_slot("order_id")
        opening = tracker.get_slot("requested_slot") is None
        carried_over = named and opening and mentioned_order(tracker) != named
        if named and not carried_over and not number_from_other_text(tracker, named):
            return {}
        if not opening and tracker.get_slot("requested_slot") != "order_id":
            return {}
        try:
            changeable = components.shop().orders(customer_id(tracker), states=CHANGEABLE_STATES)
        except ShopUnavailable as exc:
            backend_down(dispatcher, exc)
            return {"change_blocked": True}
        if len(changeable) == 1:
            return {"order_id": changeable[0].number}
        if not changeable:
            say(dispatcher, "nothing_changeable")
            return {"change_blocked": True}
        return {"order_id": None} if named else {}

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {"order_id": None}
        if number_from_other_text(tracker, value):
            return {"order_id": slot_before_this_message(tracker, "order_id")}
        number = normalize_order_number(value)
        try:
            shop = components.shop()
            order = shop.order(customer_id(tracker), number) if number else None
            others = [] if order is None or order.changeable else [
                o for o in shop.orders(customer_id(tracker), states=CHANGEABLE_STATES) if o.number != order.number
            ]
        except ShopUnavailable as exc:
            backend_down(dispatcher, exc)
            return {"order_id": None, "change_blocked": True}
        if order is None:
            say(dispatcher, "order_not_found", order_id=number or str(value))
            return {"order_id": None}
        if not order.changeable:
            # A refusal ends the form: the orders that can still change are offered, and a person.
            intent = FORM_INTENTS[self.form_name()]
            buttons = order_choice_buttons(intent, others)[:2] + human_buttons("customer_request")[:1]
            key = "change_too_late_others" if others else "change_too_late_person"
            say(dispatcher, key, buttons=buttons, order_status=describe(order))
            return {"order_id": None, "change_blocked": True}
        return {"order_id": order.number}


class ValidateChangeShippingAddressForm(ChangeFormValidation):
    def name(self) -> Text:
        return "validate_change_shipping_address_form"

    async def extract_shipping_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """An address in any message of the form is taken, without the words around it: given before
        it was asked for ("send 1002 to Main Street 5, 10115 Berlin", or typed when asked which order),
        or as a correction ("no, it's Main Street 5, 10115 Berlin")."""
        address = address_part(tracker.latest_message.get("text") or "")
        return {"shipping_address": address} if address else {}

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
        if asked_too_often(dispatcher, tracker, "order_id"):
            return []
        intent = FORM_INTENTS.get(tracker.active_loop_name or "", "change_order")
        try:
            orders = components.shop().orders(customer_id(tracker), states=CHANGEABLE_STATES)
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


def asked_too_often(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> bool:
    """Whether this would be the third time the form asks for `slot` (questions answered in
    between make the form ask again); then a person is offered instead of the same question."""
    if times_asked(tracker, tracker.active_loop_name or "", slot) <= MAX_ASKS:
        return False
    say(dispatcher, "form_offer_person", buttons=human_buttons("fallback"))
    return True


class ActionAskShippingAddress(Action):
    def name(self) -> Text:
        return "action_ask_shipping_address"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if not asked_too_often(dispatcher, tracker, "shipping_address"):
            say(dispatcher, "ask_shipping_address")
        return []


class ActionAskOrderChange(Action):
    def name(self) -> Text:
        return "action_ask_order_change"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        if not asked_too_often(dispatcher, tracker, "order_change"):
            say(dispatcher, "ask_order_change")
        return []
