"""Conversations that do not trap the customer: addresses are not order numbers, a refusal ends the
form with a way on, no question is asked a third time, corrections and other topics are heard.
Real Rasa SDK objects, a real SQLite order database and the real entity ruler."""

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker

from bot.actions.cancel import ActionKeepOrder
from bot.actions.choice import ActionChooseOrder
from bot.actions.common import mentioned_order
from bot.actions.documents import ActionGetInvoice
from bot.actions.forms import (
    ActionAskOrderId,
    ActionAskShippingAddress,
    ValidateChangeOrderForm,
    ValidateChangeShippingAddressForm,
)
from bot.actions.support import ActionClarify
from bot.nlp.spacy_pipeline import build
from shop.service import Shop
from tests.bot.actions.harness import DOMAIN, OMAR, SAM, bot_event, make_tracker, run, slot, texts, user_event

NLP = build()
ADDRESS_FORM = "change_shipping_address_form"


def ruler_entities(text: str) -> List[Dict[str, Any]]:
    """The entities Rasa's pipeline finds in `text` (the real entity ruler, with positions)."""
    return [{"entity": e.label_, "value": e.text, "start": e.start_char, "end": e.end_char} for e in NLP(text).ents]


def customer_says(
    text: str, intent: str, sender: str = SAM, form: Optional[str] = ADDRESS_FORM, asked: Optional[str] = None,
    before: Optional[Dict[str, Any]] = None, history: List[Dict[str, Any]] = (),
) -> Tracker:
    """The tracker a validation action gets: the form asked for `asked`, the customer wrote `text`,
    and Rasa filled the slots its mappings found in it (order_id from any order_id entity)."""
    entities = ruler_entities(text)
    events: List[Dict[str, Any]] = [{"event": "active_loop", "name": form}] if form else []
    events += [{"event": "slot", "name": k, "value": v} for k, v in (before or {}).items()]
    events += list(history)
    tracker = make_tracker(sender=sender, intent=intent, text=text, slots={**(before or {}), "requested_slot": asked},
                           history=events, active_loop=form)
    tracker.latest_message["entities"] = entities
    found = [e["value"] for e in entities if e["entity"] == "order_id"]
    if found:
        tracker.slots["order_id"] = found[0]
        tracker.events.append({"event": "slot", "name": "order_id", "value": found[0]})
    return tracker


def asked_before(slot_name: str, times: int) -> List[Dict[str, Any]]:
    return [{"event": "slot", "name": "requested_slot", "value": slot_name} for _ in range(times)]


@pytest.mark.parametrize("text, number", [
    ("Main Street 5, 10115 Berlin", None),
    ("7 Rua Nova, Porto 4000-001", None),
    ("Hauptstr. 12, 10115 Berlin", None),
    ("send order 1002 to Main Street 5, 10115 Berlin", "1002"),
    ("#1002: Main Street 5, 10115 Berlin", "1002"),
    ("where is my order 10115", "10115"),
    ("is order 1003 still on the road 5 days later", "1003"),
])
def test_a_number_in_an_address_is_an_order_only_when_marked_as_one(text: str, number: Optional[str]):
    tracker = make_tracker(text=text)
    tracker.latest_message["entities"] = ruler_entities(text)
    assert mentioned_order(tracker) == number


def test_an_address_typed_when_asked_which_order_is_kept_as_the_address(shop: Shop):
    # The case: after "Which order?" the customer sends the new address; its postcode
    # (tagged order_id by the ruler) must not become order 10115.
    tracker = customer_says("Main Street 5, 10115 Berlin", "nlu_fallback", asked="order_id")
    messages, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert "10115" not in texts(messages)
    assert slot(events, "order_id") == "1002"  # Sam's only order that can still change
    assert slot(events, "shipping_address") == "Main Street 5, 10115 Berlin"


def test_a_postcode_in_the_address_answer_does_not_replace_the_order(shop: Shop):
    tracker = customer_says("my new address is Main Street 5, 10115 Berlin", "change_shipping_address",
                            asked="shipping_address", before={"order_id": "1002"})
    messages, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert "10115" not in texts(messages) and "can't find" not in texts(messages)
    assert slot(events, "order_id") == "1002"
    assert slot(events, "shipping_address") == "Main Street 5, 10115 Berlin"


def test_a_refusal_ends_the_form_and_offers_the_orders_that_can_change_and_a_person(shop: Shop):
    tracker = customer_says("change the delivery address of order 1003", "change_shipping_address")
    messages, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert "can't be changed" in texts(messages)
    assert slot(events, "change_blocked") is True and slot(events, "requested_slot") is None
    payloads = [b["payload"] for b in messages[-1]["buttons"]]
    assert payloads == ['/change_shipping_address{"order_id": "1002"}',
                        '/human_handoff{"handoff_reason":"customer_request"}']


def test_a_refusal_with_nothing_else_to_change_offers_a_person(shop: Shop):
    tracker = customer_says("change the address of 1008", "change_shipping_address", sender=OMAR,
                            before={})
    shop_orders = shop.orders(OMAR)
    assert any(o.changeable for o in shop_orders)  # 1005 can change: the other order is offered
    messages, _ = run(ValidateChangeShippingAddressForm(), tracker)
    assert [b["payload"] for b in messages[-1]["buttons"]][0] == '/change_shipping_address{"order_id": "1005"}'


def test_a_question_asked_twice_is_not_asked_a_third_time(shop: Shop):
    tracker = customer_says("over there", "nlu_fallback", asked="shipping_address", before={"order_id": "1002"},
                            history=asked_before("shipping_address", 2))
    tracker.slots["shipping_address"] = "over there"
    tracker.events.append({"event": "slot", "name": "shipping_address", "value": "over there"})
    messages, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert "pass you to a person" in texts(messages)
    assert slot(events, "change_blocked") is True and slot(events, "requested_slot") is None
    assert messages[-1]["buttons"][0]["payload"].startswith("/human_handoff")

    # Asked once so far: the customer gets a second chance.
    tracker = customer_says("over there", "nlu_fallback", asked="shipping_address", before={"order_id": "1002"},
                            history=asked_before("shipping_address", 1))
    tracker.slots["shipping_address"] = "over there"
    tracker.events.append({"event": "slot", "name": "shipping_address", "value": "over there"})
    messages, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert "full address" in texts(messages) and "person" not in texts(messages)
    assert not any(e.get("name") in ("change_blocked", "requested_slot") for e in events)  # asked again


def test_wrong_order_numbers_twice_end_the_form_with_a_person(shop: Shop):
    tracker = customer_says("9999", "choose_order", asked="order_id", history=asked_before("order_id", 2))
    messages, events = run(ValidateChangeOrderForm(), tracker)
    assert "can't find order 9999" in texts(messages) and "pass you to a person" in texts(messages)
    assert slot(events, "change_blocked") is True


@pytest.mark.parametrize("ask, slot_name", [(ActionAskShippingAddress(), "shipping_address"),
                                            (ActionAskOrderId(), "order_id")])
def test_a_third_ask_after_questions_in_between_offers_a_person(shop: Shop, ask, slot_name: str):
    # The form asks again after each question it answered in between; the third time it offers a person.
    history = [{"event": "active_loop", "name": ADDRESS_FORM}] + asked_before(slot_name, 3)
    messages, _ = run(ask, make_tracker(history=history, active_loop=ADDRESS_FORM))
    assert "pass you to a person" in texts(messages)
    assert [b["payload"] for b in messages[0]["buttons"]] == ['/human_handoff{"handoff_reason":"fallback"}',
                                                             "/deny"]
    messages, _ = run(ask, make_tracker(history=history[:-1], active_loop=ADDRESS_FORM))
    assert "person" not in texts(messages)


def test_another_task_with_an_order_number_is_not_taken_as_the_answer(shop: Shop):
    tracker = customer_says("cancel order 1002 instead", "cancel_order", asked="shipping_address",
                            before={"order_id": "1002"})
    messages, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert messages == []
    assert events == [{"event": "action_execution_rejected", "name": ADDRESS_FORM, "policy": None,
                       "confidence": None, "timestamp": events[0]["timestamp"]}]


def test_a_corrected_order_number_in_the_form_is_checked(shop: Shop):
    tracker = customer_says("no, I meant 1003", "deny", asked="shipping_address", before={"order_id": "1002"})
    messages, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert "Order 1003" in texts(messages) and "can't be changed" in texts(messages)
    assert slot(events, "change_blocked") is True


def test_an_order_from_earlier_in_the_chat_is_not_assumed_when_the_form_starts(shop: Shop):
    # "where is order 1001" earlier set order_id; "change my address" is not about 1001 by itself.
    tracker = customer_says("i need to change my delivery address", "change_shipping_address",
                            before={"order_id": "1001"})
    messages, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert slot(events, "order_id") == "1002" and "1001" not in texts(messages)

    # Also after another form ended in between.
    ended = [{"event": "active_loop", "name": "change_order_form"}, {"event": "active_loop", "name": None}]
    tracker = customer_says("i need to change my delivery address", "change_shipping_address",
                            before={"order_id": "1001"}, history=ended)
    _, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert slot(events, "order_id") == "1002"

    # The order named in the opening message (or its button) is the one.
    tracker = customer_says('/change_shipping_address{"order_id": "1002"}', "change_shipping_address",
                            before={"order_id": "1002"})
    tracker.latest_message["entities"] = [{"entity": "order_id", "value": "1002"}]
    _, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert not any(e.get("name") == "order_id" and e.get("value") != "1002" for e in events)


def retold_intent(events: List[Dict[str, Any]]) -> Optional[str]:
    users = [e for e in events if e.get("event") == "user"]
    return users[-1]["parse_data"]["intent"]["name"] if users else None


def test_no_i_meant_another_order_when_asked_to_confirm_a_cancellation(shop: Shop):
    history = [user_event("cancel_order", "cancel 1002"), bot_event("Cancel order 1002 (USD 27.00)?")]
    for intent, action in (("deny", ActionKeepOrder()), ("choose_order", ActionChooseOrder())):
        tracker = customer_says("no, I meant 1005", intent, form=None, before={"pending_cancel": "1002"},
                                history=history)
        messages, events = run(action, tracker)
        assert "stays as it is" not in texts(messages)
        assert retold_intent(events) == "cancel_order"
        assert [e["value"] for e in events[-1]["parse_data"]["entities"]] == ["1005"]

    # A plain "no" keeps the order.
    messages, events = run(ActionKeepOrder(), customer_says("no", "deny", form=None, before={"pending_cancel": "1002"}))
    assert "order 1002 stays as it is" in texts(messages) and retold_intent(events) is None


def test_which_order_is_not_asked_a_third_time(shop: Shop):
    question, _ = run(ActionGetInvoice(), make_tracker(sender=OMAR, intent="get_invoice", text="my invoice"))
    asked = bot_event(question[0]["text"], question[0]["buttons"])
    history = [user_event("get_invoice", "my invoice"), asked, user_event("get_invoice", "the french press one"),
               asked]
    messages, _ = run(ActionGetInvoice(), make_tracker(sender=OMAR, intent="get_invoice", text="the one from may",
                                                       history=history))
    assert "pass you to a person" in texts(messages)
    assert messages[0]["buttons"][0]["payload"] == '/human_handoff{"handoff_reason":"fallback"}'

    messages, _ = run(ActionGetInvoice(), make_tracker(sender=OMAR, intent="get_invoice", text="the one from may",
                                                       history=history[:2]))
    assert "Which order" in texts(messages)


def test_the_domain_lists_every_other_topic_as_no_answer():
    # A new topic mid-form must never be taken as the address or the change (rules.yml answers it).
    for slot_name, own_intent, other in (("shipping_address", "change_shipping_address", "change_order"),
                                         ("order_change", "change_order", "change_shipping_address")):
        [mapping] = DOMAIN["slots"][slot_name]["mappings"]
        assert other in mapping["not_intent"] and own_intent not in mapping["not_intent"]
        for intent in ("goodbye", "payment_issue", "opt_out", "greet", "cancel_order", "human_handoff"):
            assert intent in mapping["not_intent"]


def test_a_correction_right_after_an_answer_repeats_the_request_for_the_right_order(shop: Shop):
    history = [user_event("get_invoice", "invoice for order 1008 please"), bot_event("[document invoice-1008.pdf]")]
    tracker = customer_says("sorry, wrong one: 1009", "choose_order", sender=OMAR, form=None, history=history)
    _, events = run(ActionChooseOrder(), tracker)
    assert retold_intent(events) == "get_invoice"

    # Without a word of correction a bare number after an answer asks for that order's status.
    tracker = customer_says("1009", "choose_order", sender=OMAR, form=None, history=history)
    _, events = run(ActionChooseOrder(), tracker)
    assert retold_intent(events) == "order_status"


def test_an_address_out_of_the_blue_offers_to_change_the_delivery_address(shop: Shop):
    ranking = [("nlu_fallback", 0.45), ("order_status", 0.3), ("greet", 0.2)]
    messages, _ = run(ActionClarify(), make_tracker(intent="nlu_fallback", text="Main Street 5, 10115 Berlin",
                                                    ranking=ranking))
    assert [b["payload"] for b in messages[0]["buttons"]][:2] == ["/change_shipping_address", "/order_status"]


def test_back_from_a_question_in_between_the_form_asks_again_without_rejecting_or_giving_up(shop: Shop):
    # Rasa runs the validation again after the rule answered the question, on the same message.
    tracker = customer_says("btw do you accept paypal?", "payment_methods", asked="shipping_address",
                            before={"order_id": "1002"}, history=asked_before("shipping_address", 2))
    tracker.events += [{"event": "action_execution_rejected", "name": ADDRESS_FORM},
                       {"event": "action", "name": "utter_payment_methods"}, {"event": "action", "name": ADDRESS_FORM}]
    messages, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert messages == [] and events == []

    # Right after the message it is no answer: the form steps aside for the rules.
    tracker = customer_says("btw do you accept paypal?", "payment_methods", asked="shipping_address",
                            before={"order_id": "1002"})
    _, events = run(ValidateChangeShippingAddressForm(), tracker)
    assert [e["event"] for e in events] == ["action_execution_rejected"]
