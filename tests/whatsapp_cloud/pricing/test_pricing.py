"""The pricing engine: Meta's examples for both pricing models, the 2026-10-01 changes, reconciliation."""

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Optional

import pytest

from tests.support.helpers import PAYLOADS
from whatsapp_cloud.pricing import engine as pricing
from whatsapp_cloud.pricing.engine import (
    CBP,
    PMP,
    UTC,
    BusinessMessage,
    CustomerMessage,
    MessageStatus,
    Outcome,
    PricingBook,
    PricingConfig,
    PricingInputError,
)
from whatsapp_cloud.pricing.rate_card import RateCard

CUSTOMER = "15551230001"  # market "1": marketing 0.025, utility/authentication/service 0.0034
NUMBER = "100000000000001"
MARKETING = 25_000
UTILITY = 3_400
SERVICE = 3_400

CBP_START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # conversation-based pricing, service conversations charged
PMP_START = datetime(2025, 8, 4, 9, 0, tzinfo=UTC)  # per-message pricing, before the 2026-10-01 changes


@pytest.fixture(scope="module")
def rates() -> RateCard:
    return RateCard.load()


class Chat:
    """One customer's chat, with hours counted from a start time; each send is delivered at once."""

    def __init__(self, book: PricingBook, start: datetime, wa_id: str = CUSTOMER) -> None:
        self.book = book
        self.start = start
        self.wa_id = wa_id
        self.sent = 0

    def at(self, hour: float) -> datetime:
        return self.start + timedelta(hours=hour)

    def customer_writes(self, hour: float, from_referral: bool = False) -> Outcome:
        return self.book.record(CustomerMessage(self.wa_id, self.at(hour), from_referral))

    def template(self, hour: float, category: str, number: str = NUMBER) -> Outcome:
        return self.send(hour, "template", category, number)

    def free_form(self, hour: float, number: str = NUMBER, kind: str = "free_form") -> Outcome:
        return self.send(hour, kind, None, number)

    def send(self, hour: float, kind: str, category: Optional[str], number: str = NUMBER,
             meta_pricing: Optional[dict] = None) -> Outcome:
        self.sent += 1
        wamid = f"wamid.{self.wa_id}.{int(self.at(hour).timestamp())}.{self.sent}"
        self.book.record(BusinessMessage(self.wa_id, wamid, self.at(hour), kind, category, number))
        return self.book.record(MessageStatus(self.wa_id, wamid, "delivered", self.at(hour), number, meta_pricing))

    def summary(self, hour: float) -> pricing.ChatPricingSummary:
        return pricing.summarize(self.book.customers[self.wa_id], self.at(hour), self.book.config, self.book.rates)


def cbp(rates: RateCard, **settings) -> PricingBook:
    return PricingBook(PricingConfig(model=CBP, **settings), rates)


def pmp(rates: RateCard, **settings) -> PricingBook:
    return PricingBook(PricingConfig(model=PMP, **settings), rates)


# --- conversation-based pricing -------------------------------------------------------------------


def test_seed_scenario_conversations(rates: RateCard) -> None:
    chat = Chat(cbp(rates, cbp_service_allowance=0), CBP_START)

    first = chat.template(0, "marketing")
    assert first.opened is not None and first.opened.category == "marketing"
    assert first.opened.expires_at == chat.at(24)
    assert first.charge.amount_micros == MARKETING and first.charge.category == "marketing"

    chat.customer_writes(4)
    assert chat.summary(4).service_window_until == chat.at(28)

    reply = chat.free_form(5)
    assert reply.opened is None
    assert reply.charge.amount_micros == 0
    assert reply.charge.category == "marketing"  # it rides on the open marketing conversation
    assert reply.charge.conversation_id == first.opened.id

    assert [c.category for c in chat.summary(23.99).conversations] == ["marketing"]
    assert chat.summary(24).conversations == ()  # the marketing conversation has expired

    late = chat.free_form(25)
    assert late.opened is not None and late.opened.category == "service"
    assert (late.opened.opened_at, late.opened.expires_at) == (chat.at(25), chat.at(49))
    assert late.charge.amount_micros == SERVICE and late.charge.billable

    again = chat.free_form(26)
    assert again.opened is None and again.charge.amount_micros == 0
    assert again.charge.category == "service" and again.charge.conversation_id == late.opened.id

    assert [c.category for c in chat.book.conversations] == ["marketing", "service"]
    summary = chat.summary(26)
    assert summary.totals["marketing"] == pricing.CategoryTotal(messages=2, charged=1, micros=MARKETING)
    assert summary.totals["service"] == pricing.CategoryTotal(messages=2, charged=1, micros=SERVICE)
    assert summary.as_dict()["total"] == "0.028400"


def test_service_conversation_free_within_monthly_allowance_before_november_2024(rates: RateCard) -> None:
    chat = Chat(cbp(rates, cbp_service_allowance=1), CBP_START)
    chat.customer_writes(0)
    first = chat.free_form(1)
    assert first.opened is not None and first.charge.amount_micros == 0 and first.charge.reason == "service_allowance"
    assert not first.charge.billable
    chat.customer_writes(30)
    second = chat.free_form(31)
    assert second.opened is not None and second.charge.amount_micros == SERVICE


def test_service_conversations_free_from_november_2024(rates: RateCard) -> None:
    chat = Chat(cbp(rates, cbp_service_allowance=0), datetime(2024, 11, 1, tzinfo=UTC))
    chat.customer_writes(0)
    reply = chat.free_form(1)
    assert reply.opened is not None and reply.opened.category == "service"
    assert reply.charge.amount_micros == 0 and reply.allowance is None


def test_same_category_within_24_hours_is_one_conversation(rates: RateCard) -> None:
    chat = Chat(cbp(rates), CBP_START)
    first = chat.template(0, "marketing")
    second = chat.template(10, "marketing")
    assert second.opened is None and second.charge.amount_micros == 0
    assert second.charge.conversation_id == first.opened.id
    third = chat.template(24, "marketing")  # the first conversation ended at hour 24
    assert third.opened is not None and third.charge.amount_micros == MARKETING
    assert chat.summary(30).totals["marketing"] == pricing.CategoryTotal(3, 2, 2 * MARKETING)


def test_a_different_category_opens_a_second_conversation(rates: RateCard) -> None:
    chat = Chat(cbp(rates), CBP_START)
    chat.template(0, "marketing")
    utility = chat.template(1, "utility")
    assert utility.opened is not None and utility.opened.category == "utility"
    assert utility.charge.amount_micros == UTILITY
    open_now = chat.summary(2).conversations
    assert [(c.category, c.expires_at) for c in open_now] == [("marketing", chat.at(24)), ("utility", chat.at(25))]


def test_click_to_whatsapp_free_entry_point_conversation(rates: RateCard) -> None:
    chat = Chat(cbp(rates), CBP_START)
    chat.customer_writes(0, from_referral=True)
    assert chat.summary(0).free_entry_reply_by == chat.at(24)
    reply = chat.free_form(2)
    assert reply.opened is not None and reply.opened.category == "referral_conversion"
    assert reply.opened.expires_at == chat.at(74)  # 72 h from the business's reply
    assert reply.charge.amount_micros == 0 and not reply.charge.billable
    summary = chat.summary(30)
    assert summary.service_window_until is None  # the service window closed at hour 24
    assert summary.free_entry_until == chat.at(74)
    inside = chat.template(30, "marketing")
    assert inside.opened is None and inside.charge.amount_micros == 0
    assert inside.charge.category == "referral_conversion"
    after = chat.template(74, "marketing")
    assert after.opened is not None and after.charge.amount_micros == MARKETING


def test_referral_answered_after_24_hours_opens_no_free_entry_point(rates: RateCard) -> None:
    chat = Chat(cbp(rates), CBP_START)
    chat.customer_writes(0, from_referral=True)
    late = chat.template(25, "utility")
    assert late.opened is not None and late.opened.category == "utility"
    assert late.charge.amount_micros == UTILITY
    assert chat.summary(26).free_entry_until is None


# --- per-message pricing --------------------------------------------------------------------------


def test_meta_per_message_example(rates: RateCard) -> None:
    chat = Chat(pmp(rates), PMP_START)
    marketing = chat.template(0, "marketing")
    assert (marketing.charge.amount_micros, marketing.charge.type) == (MARKETING, "regular")
    chat.customer_writes(2)
    text = chat.free_form(3)
    assert (text.charge.amount_micros, text.charge.type, text.charge.category) == (0, "free_customer_service",
                                                                                   "service")
    utility = chat.template(4, "utility")
    assert (utility.charge.amount_micros, utility.charge.type) == (0, "free_customer_service")
    assert chat.summary(25.9).service_window_until == chat.at(26)
    assert chat.summary(26).service_window_until is None
    outside = chat.template(30, "utility")
    assert (outside.charge.amount_micros, outside.charge.type) == (UTILITY, "regular")
    assert chat.summary(30).conversations == ()  # per-message pricing has no conversations
    assert [c.amount_micros for c in chat.book.charges] == [MARKETING, 0, 0, UTILITY]


def test_per_message_free_entry_point_makes_everything_free(rates: RateCard) -> None:
    chat = Chat(pmp(rates), PMP_START)
    chat.customer_writes(0, from_referral=True)
    reply = chat.free_form(1)
    assert reply.charge.type == "free_entry_point"
    for hour, category in ((30, "marketing"), (50, "utility"), (72.9, "authentication")):
        outcome = chat.template(hour, category)
        assert (outcome.charge.amount_micros, outcome.charge.type) == (0, "free_entry_point")
    assert chat.template(73, "marketing").charge.amount_micros == MARKETING


def test_free_entry_point_window_end_reported_by_meta_wins(rates: RateCard) -> None:
    chat = Chat(pmp(rates), PMP_START)
    chat.customer_writes(0, from_referral=True)
    meta_end = chat.at(1 + 24 * 7)
    chat.book.record(BusinessMessage(CUSTOMER, "wamid.fep", chat.at(1), "free_form", None, NUMBER))
    chat.book.record(MessageStatus(CUSTOMER, "wamid.fep", "sent", chat.at(1), NUMBER,
                                   {"pricing_model": "PMP", "type": "free_entry_point", "category": "service"},
                                   {"id": "c1", "expiration_timestamp": str(int(meta_end.timestamp())),
                                    "origin": {"type": "referral_conversion"}}))
    assert chat.summary(100).free_entry_until == meta_end
    assert chat.template(100, "marketing").charge.type == "free_entry_point"


def test_authentication_international_rate(rates: RateCard) -> None:
    india = Chat(pmp(rates), PMP_START, wa_id="919876543210")
    outcome = india.template(0, "AUTHENTICATION-INTERNATIONAL")
    assert outcome.charge.category == "authentication_international"
    assert outcome.charge.amount_micros == 28_000 and outcome.charge.market == "91"


# --- the 2026-10-01 changes -----------------------------------------------------------------------


def test_service_messages_charged_after_1000_free_per_number_per_month(rates: RateCard) -> None:
    book = pmp(rates)
    october = datetime(2026, 10, 5, tzinfo=UTC)
    chats = [Chat(book, october, wa_id=f"1555000{i:04d}") for i in range(10)]
    for chat in chats:
        chat.customer_writes(0)
    outcomes = [chats[i % 10].free_form(1) for i in range(1000)]
    assert all(o.charge.amount_micros == 0 and o.charge.type == "free_customer_service" for o in outcomes)
    assert {o.charge.reason for o in outcomes} == {"service_allowance"}

    the_1001st = chats[0].free_form(2)
    assert (the_1001st.charge.amount_micros, the_1001st.charge.type) == (SERVICE, "regular")
    assert the_1001st.charge.billable
    other_number = chats[1].free_form(2, number="100000000000002")  # each number has its own allowance
    assert other_number.charge.amount_micros == 0

    november = Chat(book, datetime(2026, 11, 1, tzinfo=UTC), wa_id=chats[2].wa_id)
    november.customer_writes(0)
    reset = november.free_form(0.5)
    assert reset.charge.amount_micros == 0 and reset.charge.type == "free_customer_service"
    assert book.allowance_used[pricing.AllowanceDraw(NUMBER, "2026-10")] == 1001
    assert book.allowance_used[pricing.AllowanceDraw(NUMBER, "2026-11")] == 1


def test_service_messages_before_october_2026_are_free_and_use_no_allowance(rates: RateCard) -> None:
    chat = Chat(pmp(rates, service_allowance=0), datetime(2026, 9, 30, 22, tzinfo=UTC))
    chat.customer_writes(0)
    before = chat.free_form(1.99)  # 2026-09-30 23:59
    assert before.charge.amount_micros == 0 and before.allowance is None
    after = chat.free_form(2)  # 2026-10-01 00:00, no allowance configured
    assert (after.charge.amount_micros, after.charge.type) == (SERVICE, "regular")


def test_utility_template_in_the_window_charged_from_october_2026(rates: RateCard) -> None:
    chat = Chat(pmp(rates), datetime(2026, 9, 30, 12, tzinfo=UTC))
    chat.customer_writes(0)
    assert chat.template(11.5, "utility").charge.amount_micros == 0  # 2026-09-30 23:30
    october = chat.template(12, "utility")
    assert (october.charge.amount_micros, october.charge.type) == (UTILITY, "regular")


def test_reactions_are_free_and_use_no_allowance(rates: RateCard) -> None:
    chat = Chat(pmp(rates, service_allowance=0), datetime(2026, 10, 10, tzinfo=UTC))
    chat.customer_writes(0)
    reaction = chat.free_form(1, kind="reaction")
    assert reaction.charge.amount_micros == 0 and reaction.allowance is None
    assert chat.free_form(1).charge.amount_micros == SERVICE


def test_service_messages_in_free_entry_point_window_stay_free_after_october_2026(rates: RateCard) -> None:
    chat = Chat(pmp(rates, service_allowance=0), datetime(2026, 10, 10, tzinfo=UTC))
    chat.customer_writes(0, from_referral=True)
    for hour in (1, 20, 60):
        outcome = chat.free_form(hour) if hour < 24 else chat.template(hour, "utility")
        assert outcome.charge.amount_micros == 0 and outcome.allowance is None


# --- delivery: statuses decide --------------------------------------------------------------------


def _send(book: PricingBook, wamid: str, at: datetime, kind: str = "template", category: Optional[str] = "marketing"):
    return book.record(BusinessMessage(CUSTOMER, wamid, at, kind, category, NUMBER))


def test_only_delivered_messages_are_charged(rates: RateCard) -> None:
    book = pmp(rates)
    _send(book, "wamid.a", PMP_START)
    sent = book.record(MessageStatus(CUSTOMER, "wamid.a", "sent", PMP_START, NUMBER))
    assert sent.charge is None
    failed = book.record(MessageStatus(CUSTOMER, "wamid.a", "failed", PMP_START, NUMBER))
    assert failed.charge is None and "wamid.a" not in failed.state.undelivered
    late = book.record(MessageStatus(CUSTOMER, "wamid.a", "delivered", PMP_START, NUMBER))
    assert late.charge is None and late.ignored
    assert book.charges == []


def test_read_without_delivered_charges_once(rates: RateCard) -> None:
    book = pmp(rates)
    _send(book, "wamid.b", PMP_START)
    read = book.record(MessageStatus(CUSTOMER, "wamid.b", "read", PMP_START + timedelta(seconds=5), NUMBER))
    assert read.charge is not None and read.charge.amount_micros == MARKETING
    again = book.record(MessageStatus(CUSTOMER, "wamid.b", "delivered", PMP_START, NUMBER))
    duplicate = book.record(MessageStatus(CUSTOMER, "wamid.b", "read", PMP_START, NUMBER))
    assert again.charge is None and duplicate.charge is None
    assert [c.wamid for c in book.charges] == ["wamid.b"]


def test_recording_a_send_twice_changes_nothing(rates: RateCard) -> None:
    book = pmp(rates)
    first = _send(book, "wamid.c", PMP_START)
    second = _send(book, "wamid.c", PMP_START + timedelta(minutes=1), kind="free_form", category=None)
    assert second.state == first.state and second.ignored == "already recorded"


def test_message_sent_elsewhere_is_priced_from_meta_pricing(rates: RateCard) -> None:
    book = pmp(rates)
    meta = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}
    outcome = book.record(MessageStatus(CUSTOMER, "wamid.elsewhere", "delivered", PMP_START, NUMBER, meta))
    assert outcome.charge.amount_micros == MARKETING and outcome.mismatches == ()
    unknown = book.record(MessageStatus(CUSTOMER, "wamid.nothing", "delivered", PMP_START, NUMBER))
    assert unknown.charge is None and unknown.ignored


def test_undelivered_messages_are_forgotten_after_30_days(rates: RateCard) -> None:
    book = pmp(rates)
    _send(book, "wamid.old", PMP_START)
    later = book.record(CustomerMessage(CUSTOMER, PMP_START + timedelta(days=31)))
    assert later.state.undelivered == {}


# --- reconciliation -------------------------------------------------------------------------------


def meta_pricing(name: str) -> dict:
    return json.loads((PAYLOADS / "meta_pricing_docs_pricing_objects.json").read_text())[name]


def test_meta_documented_pricing_objects_agree(rates: RateCard) -> None:
    chat = Chat(pmp(rates), PMP_START)
    chat.customer_writes(0)
    text = chat.send(1, "free_form", None, meta_pricing=meta_pricing("free_non_template_in_csw"))
    utility = chat.send(2, "template", "utility", meta_pricing=meta_pricing("free_utility_template_in_csw"))
    billable = dict(meta_pricing("billable_message"), category="marketing")
    marketing = chat.send(3, "template", "marketing", meta_pricing=billable)
    assert (text.mismatches, utility.mismatches, marketing.mismatches) == ((), (), ())


def test_cbp_status_pricing_agrees(rates: RateCard) -> None:
    body = json.loads((PAYLOADS / "pywa_status_sent_cbp_with_conversation_pricing.json").read_text())
    meta = body["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"]  # billable service conversation
    chat = Chat(cbp(rates, cbp_service_allowance=0), CBP_START)
    chat.customer_writes(0)
    assert chat.send(1, "free_form", None, meta_pricing=meta).mismatches == ()


def test_disagreements_are_reported_field_by_field(rates: RateCard) -> None:
    chat = Chat(pmp(rates), PMP_START)
    chat.customer_writes(0)
    meta = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    outcome = chat.send(1, "free_form", None, meta_pricing=meta)
    assert {m.field: (m.ours, m.meta) for m in outcome.mismatches} == {
        "billable": (False, True),
        "type": ("free_customer_service", "regular"),
        "category": ("service", "utility"),
    }


def test_unknown_meta_values_are_a_mismatch_not_an_error(rates: RateCard) -> None:
    chat = Chat(pmp(rates), PMP_START)
    meta = {"pricing_model": "PMP", "type": "free_group_customer_service", "category": "group_marketing"}
    outcome = chat.send(0, "template", "marketing", meta_pricing=meta)
    assert outcome.charge.amount_micros == MARKETING
    assert {m.field for m in outcome.mismatches} == {"type", "category"}


def test_pricing_from_the_sent_status_is_reconciled_at_delivery(rates: RateCard) -> None:
    book = pmp(rates)
    _send(book, "wamid.d", PMP_START)
    book.record(MessageStatus(CUSTOMER, "wamid.d", "sent", PMP_START, NUMBER,
                              {"pricing_model": "CBP", "category": "marketing"}))
    delivered = book.record(MessageStatus(CUSTOMER, "wamid.d", "delivered", PMP_START, NUMBER))
    assert [(m.field, m.ours, m.meta) for m in delivered.mismatches] == [("pricing_model", "PMP", "CBP")]


# --- summaries, serialisation, bad input ----------------------------------------------------------


def test_summary_as_dict_for_agents(rates: RateCard) -> None:
    chat = Chat(cbp(rates), CBP_START)
    chat.template(0, "utility")
    chat.customer_writes(1, from_referral=True)
    data = chat.summary(2).as_dict()
    assert data["service_window"] == {"open": True, "until": chat.at(25).isoformat()}
    assert data["free_entry_point"] == {"open": False, "until": None, "reply_by": chat.at(25).isoformat()}
    assert data["conversations"] == [{"id": f"{CUSTOMER}:utility:{int(CBP_START.timestamp())}", "category": "utility",
                                      "opened_at": chat.at(0).isoformat(), "expires_at": chat.at(24).isoformat(),
                                      "amount": "0.003400"}]
    assert data["market"] == "1" and data["market_name"] == "North America" and data["currency"] == "USD"
    assert data["totals"] == {"utility": {"messages": 1, "charged": 1, "amount": "0.003400"}}
    json.dumps(data)


def test_state_and_events_survive_serialisation(rates: RateCard) -> None:
    chat = Chat(cbp(rates), CBP_START)
    chat.customer_writes(0, from_referral=True)
    chat.template(1, "marketing")
    chat.book.record(BusinessMessage(CUSTOMER, "wamid.pending", chat.at(2), "template", "utility", NUMBER))
    state = chat.book.customers[CUSTOMER]
    assert pricing.state_from_dict(json.loads(json.dumps(pricing.state_to_dict(state)))) == state
    status = MessageStatus(CUSTOMER, "wamid.x", "delivered", chat.at(3), NUMBER, {"category": "utility"}, None)
    for event in (CustomerMessage(CUSTOMER, chat.at(0), True, "wamid.in"), status,
                  BusinessMessage(CUSTOMER, "wamid.y", chat.at(1), "template", "marketing", NUMBER)):
        assert pricing.event_from_dict(json.loads(json.dumps(pricing.event_to_dict(event)))) == event


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: CustomerMessage(CUSTOMER, datetime(2025, 8, 1)), "timezone-aware"),
        (lambda: CustomerMessage("", PMP_START), "wa_id"),
        (lambda: BusinessMessage(CUSTOMER, "", PMP_START, "template", "marketing"), "wamid"),
        (lambda: BusinessMessage(CUSTOMER, "w", PMP_START, "sticker"), "kind"),
        (lambda: BusinessMessage(CUSTOMER, "w", PMP_START, "template"), "template category"),
        (lambda: BusinessMessage(CUSTOMER, "w", PMP_START, "template", "promotional"), "template category"),
        (lambda: BusinessMessage(CUSTOMER, "w", PMP_START, "free_form", "utility"), "only templates"),
        (lambda: MessageStatus(CUSTOMER, "w", "", PMP_START), "status"),
        (lambda: PricingConfig(model="per-conversation"), "CBP or PMP"),
        (lambda: PricingConfig(service_allowance=-1), "negative"),
        (lambda: pricing.from_timestamp("yesterday"), "Unix timestamp"),
        (lambda: pricing.event_from_dict({"event": "refund", "at": "2025-01-01T00:00:00+00:00"}), "unknown"),
        (lambda: pricing.event_from_dict({"event": "customer_message", "at": "2025-01-01T00:00:00+00:00"}),
         "malformed"),
    ],
)
def test_bad_input_is_refused_clearly(make, message: str) -> None:
    with pytest.raises(PricingInputError, match=message):
        make()


def test_event_for_another_customer_is_refused(rates: RateCard) -> None:
    state = pricing.CustomerState("15551230009")
    with pytest.raises(PricingInputError, match="applied to the state"):
        pricing.apply(state, CustomerMessage(CUSTOMER, PMP_START), PricingConfig(), rates)


def test_malformed_meta_expiration_loses_nothing(rates: RateCard) -> None:
    book = pmp(rates)
    _send(book, "wamid.e", PMP_START)
    status = MessageStatus(CUSTOMER, "wamid.e", "delivered", PMP_START, NUMBER, {"type": "free_entry_point"},
                           {"expiration_timestamp": "soon", "origin": {"type": "referral_conversion"}})
    outcome = book.record(status)
    assert outcome.charge is not None and outcome.charge.amount_micros == MARKETING
    assert {m.field for m in outcome.mismatches} == {"type"}


def test_format_micros() -> None:
    assert [pricing.format_micros(v) for v in (0, 25_000, 1_234_567_891, -5)] == [
        "0.000000", "0.025000", "1234.567891", "-0.000005"]


def test_config_dates_are_the_reference_dates() -> None:
    config = PricingConfig()
    assert config.model == PMP
    assert config.service_charged_from == config.utility_in_window_free_until == datetime(2026, 10, 1, tzinfo=UTC)
    assert replace(config, model=CBP).cbp_service_free_from == datetime(2024, 11, 1, tzinfo=UTC)


def test_summary_quotes_the_next_message_for_agents(rates: RateCard) -> None:
    chat = Chat(cbp(rates, cbp_service_allowance=0), CBP_START)
    chat.template(0, "marketing")
    chat.customer_writes(4)
    quotes = chat.summary(5).as_dict()["next_message"]
    assert quotes["free_form"] == {"allowed": True, "amount": "0.000000", "reason": "open_conversation",
                                   "free_within_monthly_allowance": False}
    assert quotes["marketing"]["amount"] == "0.000000"  # the marketing conversation is open
    assert (quotes["utility"]["amount"], quotes["utility"]["reason"]) == ("0.003400", "conversation")
    assert chat.summary(25).as_dict()["next_message"]["free_form"]["amount"] == "0.003400"

    october = Chat(pmp(rates), datetime(2026, 10, 12, tzinfo=UTC))
    october.customer_writes(0)
    reply = {q.message: q for q in october.summary(1).next_message}["free_form"]
    assert (reply.allowed, reply.amount_micros, reply.free_within_allowance) == (True, SERVICE, True)
    closed = {q.message: q for q in october.summary(25).next_message}
    assert not closed["free_form"].allowed and closed["utility"].allowed
    assert closed["authentication_international"].amount_micros == rates.rate("1", "authentication_international")


def test_status_webhook_before_the_send_record(rates: RateCard) -> None:
    """Meta's `sent` status can beat the sender's own record: the record still opens the free entry window."""
    book = pmp(rates)
    book.record(CustomerMessage(CUSTOMER, PMP_START, from_referral=True))
    reply_at = PMP_START + timedelta(hours=1)
    meta = {"billable": False, "pricing_model": "PMP", "type": "free_entry_point", "category": "marketing"}
    early = book.record(MessageStatus(CUSTOMER, "wamid.f", "sent", reply_at, NUMBER, meta))
    assert early.state.undelivered["wamid.f"].from_status
    book.record(BusinessMessage(CUSTOMER, "wamid.f", reply_at, "template", "marketing", NUMBER))
    assert book.customers[CUSTOMER].windows.free_entry_until == reply_at + timedelta(hours=72)
    delivered = book.record(MessageStatus(CUSTOMER, "wamid.f", "delivered", reply_at, NUMBER))
    assert (delivered.charge.type, delivered.charge.amount_micros, delivered.mismatches) == ("free_entry_point", 0, ())


def test_delivery_stamped_before_the_send_is_dated_at_the_send(rates: RateCard) -> None:
    """Meta's clock and ours differ by seconds: a delivery is never dated before its send, nor counted
    in the month before it."""
    book = pmp(rates)
    sent_at = datetime(2026, 11, 1, 0, 0, 1, tzinfo=UTC)
    book.record(CustomerMessage(CUSTOMER, sent_at - timedelta(hours=1)))
    book.record(BusinessMessage(CUSTOMER, "wamid.g", sent_at, "free_form", None, NUMBER))
    outcome = book.record(MessageStatus(CUSTOMER, "wamid.g", "delivered", sent_at - timedelta(seconds=2), NUMBER))
    assert outcome.charge.at == sent_at
    assert outcome.allowance == pricing.AllowanceDraw(NUMBER, "2026-11")


def test_a_read_weeks_later_never_charges_again(rates: RateCard) -> None:
    book = pmp(rates)
    meta = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}
    book.record(MessageStatus(CUSTOMER, "wamid.h", "delivered", PMP_START, NUMBER, meta))
    book.record(CustomerMessage(CUSTOMER, PMP_START + timedelta(days=40)))  # the delivery is forgotten by now
    late_read = book.record(MessageStatus(CUSTOMER, "wamid.h", "read", PMP_START + timedelta(days=40), NUMBER, meta))
    assert late_read.charge is None and late_read.ignored
    assert [c.wamid for c in book.charges] == ["wamid.h"]
