"""Workflow actions run with the real Rasa SDK objects against a real SQLite order database."""

import json
import re
import zlib
from datetime import date
from pathlib import Path
from typing import Any, Dict

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa_sdk import Action, Tracker

from bot.actions.cancel import ActionCancelOrder, ActionConfirmCancel, ActionKeepOrder
from bot.actions.choice import ActionChooseOrder, pending_choice
from bot.actions.documents import ActionGetInvoice
from bot.actions.forms import (
    ActionAskOrderId,
    ActionSubmitAddressChange,
    ActionSubmitOrderChange,
    ValidateChangeOrderForm,
    ValidateChangeShippingAddressForm,
)
from bot.actions.orders import ActionDeliveryPeriod, ActionOrderStatus, ActionOrderUpdate
from bot.actions.refunds import ActionGetRefund, ActionRefundUpdate, ActionTrackRefund
from bot.actions.support import (
    ActionClarify,
    ActionComplaint,
    ActionDefaultFallback,
    ActionPaymentIssue,
    ActionStoreCsat,
)
from shop.service import Shop
from tests.bot.actions.harness import (
    ANA,
    DOMAIN,
    OMAR,
    SAM,
    STRANGER,
    bot_event,
    make_tracker,
    run,
    slot,
    texts,
    user_event,
)

# -- order status --------------------------------------------------------------------------------


def test_status_by_number_tells_state_carrier_tracking_and_eta(shop: Shop):
    messages, events = run(ActionOrderStatus(), make_tracker(entities=[("order_id", "#1001")]))
    assert messages == []  # utter_order_status says it, from these slots
    summary = slot(events, "order_summary")
    assert "Order 1001" in summary and "shipped" in summary
    assert "UPS" in summary and "1Z999AA10123456784" in summary and "Expected:" in summary
    assert slot(events, "order_found") is True and slot(events, "order_state") == "shipped"
    assert slot(events, "order_id") == "1001"
    response = DOMAIN["responses"]["utter_order_status"]
    assert response == [{"condition": [{"type": "slot", "name": "order_found", "value": True}],
                         "text": "{order_summary}"}]


def test_someone_elses_order_gets_the_same_answer_as_an_unknown_one(shop: Shop):
    theirs, their_events = run(ActionOrderStatus(), make_tracker(sender=ANA, entities=[("order_id", "1001")]))
    unknown, unknown_events = run(ActionOrderStatus(), make_tracker(sender=ANA, entities=[("order_id", "9999")]))
    assert texts(theirs) == texts(unknown).replace("9999", "1001")
    assert "UPS" not in texts(theirs) and "shipped" not in texts(theirs)
    assert their_events == unknown_events
    assert slot(their_events, "order_found") is False


def test_several_orders_become_a_choice_with_payloads(shop: Shop):
    messages, events = run(ActionOrderStatus(), make_tracker())
    buttons = messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == [
        '/order_status{"order_id": "1002"}', '/order_status{"order_id": "1001"}',
        '/order_status{"order_id": "A-10023"}', '/order_status{"order_id": "1003"}',
    ]
    assert all(len(b["title"]) <= 20 for b in buttons)
    assert json.loads(buttons[0]["payload"][len("/order_status"):]) == {"order_id": "1002"}
    assert slot(events, "order_found") is False


def test_a_single_order_is_answered_at_once(shop: Shop):
    messages, events = run(ActionOrderStatus(), make_tracker(sender=ANA))
    assert messages == []
    assert "Order 1004" in slot(events, "order_summary") and "packed" in slot(events, "order_summary")


def test_no_orders_for_the_number(shop: Shop):
    messages, _ = run(ActionOrderStatus(), make_tracker(sender=STRANGER))
    assert "can't find any orders" in texts(messages)


def test_order_update_fills_the_template_slots(shop: Shop):
    _, events = run(ActionOrderUpdate(), make_tracker(intent="EXTERNAL_order_update", entities=[("order_id", "1001")],
                                                      wamid=None))
    assert slot(events, "order_state") == "shipped"
    assert re.match(r"\w{3} \d{2} \w{3}", slot(events, "order_eta"))
    _, events = run(ActionOrderUpdate(), make_tracker(sender=ANA, intent="EXTERNAL_order_update",
                                                      entities=[("order_id", "1001")], wamid=None))
    assert slot(events, "order_state") is None


# -- cancelling ----------------------------------------------------------------------------------


def test_cancel_asks_first_then_cancels_once(shop: Shop):
    messages, events = run(ActionCancelOrder(), make_tracker(intent="cancel_order", entities=[("order_id", "1002")]))
    assert "Cancel order 1002 (USD 27.00)?" in texts(messages)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert slot(events, "pending_cancel") == "1002"
    assert shop.order(SAM, "1002").status == "paid"

    confirm = make_tracker(intent="affirm", text="yes", slots={"pending_cancel": "1002"})
    messages, events = run(ActionConfirmCancel(), confirm)
    assert "order 1002 is cancelled" in texts(messages) and "USD 27.00" in texts(messages)
    assert slot(events, "pending_cancel") is None
    assert shop.order(SAM, "1002").status == "cancelled"
    assert any(m.get("response") == "utter_ask_csat" for m in messages)

    messages, _ = run(ActionConfirmCancel(), confirm)
    assert "already cancelled" in texts(messages)
    messages, events = run(ActionCancelOrder(), make_tracker(intent="cancel_order", entities=[("order_id", "1002")]))
    assert "already cancelled" in texts(messages) and slot(events, "pending_cancel") is None
    assert len(shop.refunds(SAM, "1002")) == 1


def test_shipped_orders_cannot_be_cancelled(shop: Shop):
    messages, events = run(ActionCancelOrder(), make_tracker(intent="cancel_order", entities=[("order_id", "1001")]))
    assert "can't be cancelled" in texts(messages)
    assert slot(events, "pending_cancel") is None
    assert shop.order(SAM, "1001").status == "shipped"


def test_saying_no_keeps_the_order(shop: Shop):
    messages, events = run(ActionKeepOrder(), make_tracker(intent="deny", slots={"pending_cancel": "1002"}))
    assert "order 1002 stays" in texts(messages) and slot(events, "pending_cancel") is None
    assert shop.order(SAM, "1002").status == "paid"


def test_cancel_without_number_picks_the_only_cancellable_order(shop: Shop):
    messages, events = run(ActionCancelOrder(), make_tracker(intent="cancel_order", text="cancel my order"))
    assert "Cancel order 1002" in texts(messages) and slot(events, "pending_cancel") == "1002"


# -- change forms --------------------------------------------------------------------------------


def form_tracker(sender: str, form: str, slots: Dict[str, Any], text: str = "x", entities=()) -> Tracker:
    """A tracker where the customer's last message set `slots` while `form` is active (an order
    number comes from the message's entity, as Rasa's slot mapping takes it)."""
    if not entities and "order_id" in slots:
        entities = [("order_id", slots["order_id"])]
    tracker = make_tracker(sender=sender, intent="change_order", text=text, entities=entities,
                           slots={"requested_slot": None, **slots}, active_loop=form)
    tracker.events.extend({"event": "slot", "name": k, "value": v} for k, v in slots.items())
    return tracker


def test_address_form_checks_the_order_and_the_address(shop: Shop):
    form = ValidateChangeShippingAddressForm()
    messages, events = run(form, form_tracker(ANA, "change_shipping_address_form", {"order_id": "1001"}))
    assert "can't find order 1001" in texts(messages) and slot(events, "order_id") is None

    messages, events = run(form, form_tracker(SAM, "change_shipping_address_form", {"order_id": "1001"}))
    assert "can't be changed" in texts(messages) and slot(events, "order_id") is None

    messages, events = run(form, form_tracker(ANA, "change_shipping_address_form",
                                              {"order_id": "1004", "shipping_address": "nowhere"}))
    assert slot(events, "order_id") == "1004" and slot(events, "shipping_address") is None
    assert "full address" in texts(messages)

    _, events = run(form, form_tracker(ANA, "change_shipping_address_form",
                                       {"order_id": "1004", "shipping_address": "7 Rua  Nova, Porto 4000-001"}))
    assert slot(events, "shipping_address") == "7 Rua Nova, Porto 4000-001"

    done = make_tracker(sender=ANA, slots={"order_id": "1004", "shipping_address": "7 Rua Nova, Porto 4000-001"})
    messages, events = run(ActionSubmitAddressChange(), done)
    assert "order 1004 will go to 7 Rua Nova" in texts(messages)
    assert shop.order(ANA, "1004").shipping_address == "7 Rua Nova, Porto 4000-001"


def test_form_takes_the_only_changeable_order_and_stops_when_there_is_none(shop: Shop):
    form = ValidateChangeOrderForm()
    _, events = run(form, form_tracker(ANA, "change_order_form", {}))
    assert slot(events, "order_id") == "1004"

    messages, events = run(form, form_tracker(STRANGER, "change_order_form", {}))
    assert slot(events, "change_blocked") is True and slot(events, "requested_slot") is None
    assert "None of your orders can be changed" in texts(messages)
    messages, events = run(ActionSubmitOrderChange(), make_tracker(sender=STRANGER, slots={"change_blocked": True}))
    assert messages == [] and slot(events, "change_blocked") is None


def test_the_change_told_when_opening_the_form_is_not_asked_again(shop: Shop):
    form = ValidateChangeOrderForm()
    _, events = run(form, form_tracker(ANA, "change_order_form", {}, text="make it 2 shirts instead of 1"))
    assert slot(events, "order_id") == "1004" and slot(events, "order_change") == "make it 2 shirts instead of 1"

    _, events = run(form, form_tracker(ANA, "change_order_form", {}, text="i want to change my order 1004"))
    assert not any(e.get("name") == "order_change" for e in events)  # said that, not what: asked next


def test_asking_for_the_order_offers_the_changeable_ones(shop: Shop):
    messages, _ = run(ActionAskOrderId(), make_tracker(sender=SAM, active_loop="change_shipping_address_form"))
    assert [b["payload"] for b in messages[0]["buttons"]] == ['/change_shipping_address{"order_id": "1002"}']


def test_order_change_with_a_delivery_day(shop: Shop):
    form = ValidateChangeOrderForm()
    messages, events = run(form, form_tracker(SAM, "change_order_form",
                                              {"order_id": "1002", "order_change": "deliver it yesterday"}))
    assert "won't work" in texts(messages) and slot(events, "order_change") is None

    _, events = run(form, form_tracker(SAM, "change_order_form",
                                       {"order_id": "1002", "order_change": "please deliver it tomorrow"}))
    wanted = slot(events, "delivery_date")
    assert wanted is not None and slot(events, "order_change") == "please deliver it tomorrow"

    tracker = make_tracker(slots={"order_id": "1002", "order_change": "please deliver it tomorrow",
                                  "delivery_date": wanted})
    messages, _ = run(ActionSubmitOrderChange(), tracker)
    assert "passed your change for order 1002" in texts(messages) and "Requested delivery day" in texts(messages)
    run(ActionSubmitOrderChange(), tracker)  # the same message again records nothing new
    from sqlalchemy import func, select

    from shop.db import session_scope
    from shop.models import ChangeRequest

    with session_scope(shop.engine) as session:
        assert session.execute(select(func.count(ChangeRequest.id))).scalar_one() == 1


def test_order_change_takes_the_date_entity_of_the_same_message(shop: Shop):
    tracker = form_tracker(SAM, "change_order_form", {"order_id": "1002", "order_change": "size M, and on friday"},
                           entities=[("date", "friday")])
    _, events = run(ValidateChangeOrderForm(), tracker)
    wanted = date.fromisoformat(slot(events, "delivery_date"))
    assert wanted.weekday() == 4 and 1 <= (wanted - date.today()).days <= 7


# -- refunds -------------------------------------------------------------------------------------


def test_refund_is_created_once_and_tracked(shop: Shop):
    tracker = make_tracker(intent="get_refund", text="refund order 1003 please", entities=[("order_id", "1003")])
    messages, _ = run(ActionGetRefund(), tracker)
    assert "asked for your refund" in texts(messages) and "USD 54.00" in texts(messages)
    messages, _ = run(ActionGetRefund(), tracker)
    assert "already asked for this refund" in texts(messages)
    assert len(shop.refunds(SAM, "1003")) == 1
    messages, _ = run(ActionTrackRefund(), make_tracker(intent="track_refund"))
    assert "Refund for order 1003 (USD 54.00): requested" in texts(messages)


def test_refund_of_an_order_not_shipped_points_to_cancelling(shop: Shop):
    messages, _ = run(ActionGetRefund(), make_tracker(intent="get_refund", entities=[("order_id", "1002")]))
    assert "cancel it" in texts(messages)
    assert shop.refunds(SAM, "1002") == []


def test_track_refunds_of_all_states(shop: Shop):
    messages, _ = run(ActionTrackRefund(), make_tracker(sender=OMAR, intent="track_refund"))
    text = texts(messages)
    for number, state in (("1006", "paid back"), ("1007", "approved"), ("1008", "not approved"),
                          ("1009", "requested")):
        assert f"order {number}" in text and state in text
    _, events = run(ActionRefundUpdate(), make_tracker(sender=OMAR, intent="EXTERNAL_refund_update",
                                                       entities=[("order_id", "1007")], wamid=None))
    assert slot(events, "refund_state") == "approved, the money is on its way"
    assert slot(events, "refund_amount") == "USD 89.00"


# -- invoice -------------------------------------------------------------------------------------


def pdf_text(data: bytes) -> bytes:
    """The page content of an fpdf2 PDF: its Flate streams, inflated."""
    chunks = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)))
        except zlib.error:
            chunks.append(match.group(1))
    return b"\n".join(chunks)


def test_invoice_is_sent_as_a_pdf_document(shop: Shop, tmp_path: Path):
    messages, _ = run(ActionGetInvoice(), make_tracker(intent="get_invoice", entities=[("order_id", "1001")]))
    body = messages[0]["custom"]
    assert body["type"] == "document"
    document = body["document"]
    assert document["filename"] == "invoice-1001.pdf"
    assert "INV-" in document["caption"]
    prefix = "https://bot.example.com/webhooks/whatsapp/media/"
    assert document["link"].startswith(prefix)
    name = document["link"][len(prefix):]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}\.pdf", name)
    data = (tmp_path / "media" / name).read_bytes()
    assert data.startswith(b"%PDF-")
    content = pdf_text(data)
    order = shop.order(SAM, "1001")
    assert order.invoice_number.encode() in content
    assert b"Ceramic mug, blue" in content and b"Pour-over coffee set" in content
    assert b"USD 64.00" in content and b"Sam Lee" in content

    again, _ = run(ActionGetInvoice(), make_tracker(intent="get_invoice", entities=[("order_id", "1001")]))
    assert again[0]["custom"]["document"]["link"] != document["link"]


def test_no_invoice_for_unpaid_or_foreign_orders(shop: Shop):
    messages, _ = run(ActionGetInvoice(), make_tracker(sender=OMAR, intent="get_invoice",
                                                       entities=[("order_id", "1005")]))
    assert "isn't paid yet" in texts(messages)
    messages, _ = run(ActionGetInvoice(), make_tracker(sender=ANA, intent="get_invoice",
                                                       entities=[("order_id", "1001")]))
    assert "can't find order 1001" in texts(messages) and not any(m.get("custom") for m in messages)


# -- complaints, payments, fallback, ratings ------------------------------------------------------------


def test_complaint_opens_exactly_one_ticket_and_offers_a_person(shop: Shop):
    tracker = make_tracker(intent="complaint", text="my mug arrived broken", entities=[("order_id", "1001")],
                           wamid="wamid.complaint-1")
    first, _ = run(ActionComplaint(), tracker)
    retried, _ = run(ActionComplaint(), tracker)  # the same webhook delivered again
    repeated, _ = run(ActionComplaint(), make_tracker(intent="complaint", text="hello?? broken mug!!",
                                                      slots={"order_id": "1001"}, wamid="wamid.complaint-2"))
    ticket = re.search(r"ticket #(\d+)", texts(first)).group(1)
    assert "opened ticket" in texts(first)
    assert f"#{ticket}" in texts(retried) and f"#{ticket}" in texts(repeated)
    assert "already with our team" in texts(repeated)
    assert first[0]["buttons"][0]["payload"] == '/human_handoff{"handoff_reason":"complaint"}'


def test_payment_issue_names_unpaid_orders(shop: Shop):
    messages, _ = run(ActionPaymentIssue(), make_tracker(sender=OMAR, intent="payment_issue"))
    assert "1005 (USD 30.00)" in texts(messages)
    assert messages[-1]["buttons"][0]["title"] == "Talk to a person"


def test_unsure_offers_the_two_likeliest_topics_then_a_person(shop: Shop):
    ranking = [("nlu_fallback", 0.4), ("greet", 0.3), ("get_refund", 0.25), ("track_refund", 0.2),
               ("order_status", 0.1)]
    messages, _ = run(ActionClarify(), make_tracker(intent="nlu_fallback", text="money back thing", ranking=ranking))
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads[:2] == ["/get_refund", "/track_refund"]
    assert len(payloads) == 3 and all(len(b["title"]) <= 20 for b in messages[0]["buttons"])

    twice = make_tracker(intent="nlu_fallback", text="the thing", ranking=ranking,
                         history=[user_event("nlu_fallback", "money back thing")])
    messages, _ = run(ActionClarify(), twice)
    assert "pass you to a person" in texts(messages)
    assert messages[0]["buttons"][0]["payload"] == '/human_handoff{"handoff_reason":"fallback"}'


def test_typed_order_number_is_heard_as_the_question_it_answers(shop: Shop):
    question, _ = run(ActionGetInvoice(), make_tracker(sender=OMAR, intent="get_invoice", text="my invoice"))
    history = [user_event("get_invoice", "my invoice"), bot_event(question[0]["text"], question[0]["buttons"])]
    tracker = make_tracker(sender=OMAR, intent="choose_order", text="1008 please",
                           entities=[("order_id", "1008")], history=history)
    tracker.latest_message["entities"][0].update(start=0, end=4, confidence=None, extractor="SpacyEntityExtractor")
    messages, events = run(ActionChooseOrder(), tracker)
    assert messages == []
    # What Rasa accepts from the action server (it refuses the whole answer otherwise).
    jsonschema.validate({"events": events, "responses": []}, RemoteAction.action_response_format_spec())
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[1]["name"] == "action_listen"
    retold = events[2]
    assert retold["parse_data"]["intent"] == {"name": "get_invoice", "confidence": 1.0}
    assert retold["parse_data"]["entities"] == [{"entity": "order_id", "value": "1008", "start": 0, "end": 4,
                                                 "extractor": "SpacyEntityExtractor"}]
    assert retold["text"] == "1008 please" and retold["metadata"]["wamid"]


def test_typed_order_number_without_a_question_asks_for_its_status():
    answered_before = [user_event("get_invoice", "my invoice"),
                       bot_event("Which order do you mean?", [{"title": "Order 1008",
                                                               "payload": '/get_invoice{"order_id": "1008"}'}]),
                       user_event("thank_you", "thanks"), bot_event("You're welcome!")]
    for history in ([], answered_before):
        tracker = make_tracker(intent="choose_order", text="1001", entities=[("order_id", "1001")], history=history)
        _, events = run(ActionChooseOrder(), tracker)
        assert events[2]["parse_data"]["intent"]["name"] == "order_status"


def test_only_order_buttons_make_a_pending_choice():
    rating = bot_event("How did we do today?", [{"title": "Good", "payload": '/csat{"csat_score":"5"}'}])
    broken = bot_event("Which order?", [{"title": "Order 1", "payload": '/cancel_order{"order_id": '}])
    for question in (rating, broken):
        tracker = make_tracker(intent="choose_order", text="1001", history=[user_event("greet"), question])
        assert pending_choice(tracker) is None


def test_unknown_next_step_forgets_the_message_and_offers_a_person():
    messages, events = run(ActionDefaultFallback(), make_tracker(intent="affirm", text="yes"))
    assert "say it another way" in texts(messages)
    assert messages[0]["buttons"] == [{"title": "Talk to a person",
                                       "payload": '/human_handoff{"handoff_reason":"fallback"}'}]
    assert events == [{"event": "rewind", "timestamp": None}]


def test_rating_is_stored_once(shop: Shop):
    tracker = make_tracker(intent="csat", text='/csat{"csat_score":"5"}', entities=[("csat_score", "5")],
                           slots={"csat_topic": "cancel_order"}, wamid="wamid.rating")
    messages, events = run(ActionStoreCsat(), tracker)
    assert "Thank you" in texts(messages) and slot(events, "csat_topic") is None
    run(ActionStoreCsat(), tracker)
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import CsatRating

    with session_scope(shop.engine) as session:
        rows = session.execute(select(CsatRating.score, CsatRating.topic)).all()
    assert rows == [(5, "cancel_order")]
    messages, _ = run(ActionStoreCsat(), make_tracker(intent="csat", entities=[("csat_score", "9")]))
    assert "buttons" in texts(messages)


@pytest.mark.parametrize("typed, score", [("4", 4), ("2/5", 2), ("I give you 1 star", 1), ("\u2b50\u2b50\u2b50", 3)])
def test_a_typed_rating_is_stored_like_a_tapped_one(shop: Shop, typed: str, score: int):
    messages, _ = run(ActionStoreCsat(), make_tracker(intent="csat", text=typed, wamid=f"wamid.typed.{score}"))
    assert ("Thank you" if score >= 3 else "sorry we let you down") in texts(messages)
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import CsatRating

    with session_scope(shop.engine) as session:
        assert session.execute(select(CsatRating.score)).scalars().all() == [score]


def test_a_typed_message_without_a_rating_asks_for_the_buttons(shop: Shop):
    for text in ("meh", "10/10", "order 1005"):
        messages, _ = run(ActionStoreCsat(), make_tracker(intent="csat", text=text))
        assert "one of the buttons" in texts(messages)


def test_delivery_period_adds_the_customers_own_dates(shop: Shop):
    messages, _ = run(ActionDeliveryPeriod(), make_tracker(intent="delivery_period"))
    text = texts(messages)
    assert "3-5 business days" in text
    assert "Order 1001 is on its way" in text and "Order A-10023 is on its way" in text


# -- the database is down ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, intent",
    [(ActionOrderStatus(), "order_status"), (ActionCancelOrder(), "cancel_order"), (ActionGetRefund(), "get_refund"),
     (ActionGetInvoice(), "get_invoice"), (ActionComplaint(), "complaint"), (ActionTrackRefund(), "track_refund")],
)
def test_a_broken_database_gets_an_honest_answer_and_a_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, action: Action, intent: str
):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database at all" * 200)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{broken}")
    messages, events = run(action, make_tracker(intent=intent, entities=[("order_id", "1001")]))
    assert "can't reach our order system" in texts(messages)
    assert messages[0]["buttons"][0]["payload"] == '/human_handoff{"handoff_reason":"backend_failure"}'
    assert events == ([{"event": "slot", "timestamp": None, "name": "order_found", "value": False}]
                      if intent == "order_status" else [])
    assert any(r.levelname == "ERROR" and "unavailable" in r.getMessage() for r in caplog.records)


def test_the_action_server_serves_every_action_the_domain_lists():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("bot.actions")
    served = set(executor.actions)
    # action_opt_out / action_opt_in come with bot/actions/consent.py (consent ledger).
    expected = set(DOMAIN["actions"]) - {"action_opt_out", "action_opt_in"}
    assert expected <= served


def test_no_slot_mapping_makes_rasa_run_an_action_on_every_message():
    # Rasa runs the action named in a custom slot mapping at each user message to extract the slot:
    # for these actions that would mean an escalation or a cancellation question every turn.
    for name, definition in DOMAIN["slots"].items():
        for mapping in definition["mappings"]:
            assert not (mapping["type"] == "custom" and mapping.get("action")), name
