"""The one outbound decision, as a pure function: unit cases, then properties over random histories."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Tuple

from hypothesis import given, settings
from hypothesis import strategies as st

from whatsapp_cloud.policy.consent import Consent, ConsentRecord, scope_of
from whatsapp_cloud.policy.decision import (
    Action,
    Decision,
    LimitUsage,
    Outbound,
    PolicyRules,
    RecipientState,
    TemplateUse,
    Until,
    decide,
)
from whatsapp_cloud.policy.windows import WindowConfig, Windows, after_business_message, after_inbound

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
CONFIG = WindowConfig()
ORDER_UPDATE = TemplateUse("order_update", "en_US", "UTILITY")
PROMO = TemplateUse("weekend_promo", "en_US", "MARKETING")
CODE = TemplateUse("verification_code", "en_US", "AUTHENTICATION")
SESSION = Outbound()


def opted(status: str, *scopes: str, at: datetime = T0) -> Consent:
    consent = Consent()
    for scope in scopes:
        consent = consent.with_record(scope, ConsentRecord(status, at, "checkout_page"))
    return consent


OPTED_IN = opted("in", "utility", "marketing")
ROOM = LimitUsage()


def state(wrote_at: Optional[datetime] = T0, consent: Consent = OPTED_IN, limit: LimitUsage = ROOM) -> RecipientState:
    windows = after_inbound(Windows(), wrote_at, False, CONFIG) if wrote_at else Windows()
    return RecipientState(windows, consent, limit)


def test_session_message_inside_the_window_goes_as_it_is():
    assert decide(state(), SESSION, T0 + 23 * H).action == Action.SEND_SESSION


def test_session_message_outside_the_window_goes_as_its_template():
    decision = decide(state(), Outbound(fallback=ORDER_UPDATE), T0 + 25 * H)
    assert decision.action == Action.SEND_TEMPLATE and decision.template == ORDER_UPDATE
    assert decision.outside_window


def test_session_message_without_fallback_outside_the_window_waits_for_the_customer():
    decision = decide(state(), SESSION, T0 + 25 * H)
    assert decision.action == Action.DEFER and decision.until == Until.CUSTOMER_WRITES
    assert "no template" in decision.reason


def test_one_request_to_reply_is_enough_while_messages_wait():
    reopen = Outbound(fallback=TemplateUse("conversation_followup", "en_US", "UTILITY"), fallback_only_reopens=True)
    assert decide(state(), reopen, T0 + 25 * H).action == Action.SEND_TEMPLATE
    waiting = replace(state(), waiting=1)
    decision = decide(waiting, reopen, T0 + 25 * H)
    assert decision.action == Action.DEFER and "already wait" in decision.reason
    # A template carrying the message itself still goes.
    assert decide(waiting, Outbound(fallback=ORDER_UPDATE), T0 + 25 * H).action == Action.SEND_TEMPLATE


def test_customer_who_never_wrote_gets_no_free_form_message():
    assert decide(state(wrote_at=None), SESSION, T0).action == Action.DEFER


def test_template_needs_an_opt_in_for_its_scope():
    no_consent = state(consent=Consent())
    decision = decide(no_consent, Outbound(template=ORDER_UPDATE), T0 + 30 * H)
    assert decision.action == Action.BLOCK and "no utility opt-in" in decision.reason
    utility_only = state(consent=opted("in", "utility"))
    assert decide(utility_only, Outbound(template=PROMO), T0).action == Action.BLOCK
    assert decide(utility_only, Outbound(template=CODE), T0 + 30 * H).action == Action.SEND_TEMPLATE


def test_fallback_without_opt_in_waits_for_the_customer_instead_of_being_lost():
    decision = decide(state(consent=Consent()), Outbound(fallback=ORDER_UPDATE), T0 + 25 * H)
    assert decision.action == Action.DEFER and decision.until == Until.CUSTOMER_WRITES
    assert "opt-in" in decision.reason


def test_opted_out_customer_gets_no_marketing_and_when_strict_no_template_at_all():
    consent = opted("in", "utility", "marketing", at=T0).with_record(
        "marketing", ConsentRecord("out", T0 + H, "user_preferences"))
    assert decide(state(consent=consent), Outbound(template=PROMO), T0 + 2 * H).action == Action.BLOCK
    strict = decide(state(consent=consent), Outbound(template=ORDER_UPDATE), T0 + 30 * H)
    assert strict.action == Action.BLOCK and "opted out" in strict.reason
    lenient = decide(state(consent=consent), Outbound(template=ORDER_UPDATE), T0 + 30 * H,
                     PolicyRules(opted_out_blocks_all_templates=False))
    assert lenient.action == Action.SEND_TEMPLATE
    # Replies inside the window answer the customer's own message: still allowed.
    assert decide(state(consent=consent), SESSION, T0 + 2 * H).action == Action.SEND_SESSION


def test_opting_in_again_lifts_the_opt_out():
    consent = opted("out", "utility", "marketing", at=T0).with_record(
        "marketing", ConsentRecord("in", T0 + H, "keyword")).with_record(
        "utility", ConsentRecord("in", T0 + H, "keyword"))
    assert decide(state(consent=consent), Outbound(template=PROMO), T0 + 30 * H).action == Action.SEND_TEMPLATE


def test_an_older_consent_record_never_overrides_a_newer_one():
    consent = opted("out", "marketing", at=T0 + H).with_record("marketing", ConsentRecord("in", T0, "sms"))
    assert consent.opted_out("marketing")


def test_unusable_template_is_blocked_with_the_reason():
    paused = replace(ORDER_UPDATE, problem="template order_update (en_US) is paused")
    decision = decide(state(), Outbound(template=paused), T0 + 30 * H)
    assert decision.action == Action.BLOCK and "paused" in decision.reason


def test_messaging_limit_defers_new_customers_outside_a_window_but_not_replies_or_known_ones():
    full = LimitUsage(used=250, recipient_counted=False, tier=250)
    decision = decide(state(limit=full), Outbound(template=ORDER_UPDATE), T0 + 30 * H)
    assert decision.action == Action.DEFER and decision.until == Until.CAPACITY
    # Inside the window nothing counts against the limit.
    assert decide(state(limit=full), Outbound(template=ORDER_UPDATE), T0 + H).action == Action.SEND_TEMPLATE
    already = replace(full, recipient_counted=True)
    assert decide(state(limit=already), Outbound(template=ORDER_UPDATE), T0 + 30 * H).action == Action.SEND_TEMPLATE
    unlimited = LimitUsage(used=10**7, tier=None)
    assert decide(state(limit=unlimited), Outbound(template=ORDER_UPDATE), T0 + 30 * H).sends


def test_scopes_of_categories():
    assert [scope_of(c) for c in ("MARKETING", "UTILITY", "AUTHENTICATION")] == ["marketing", "utility", "utility"]


# --- properties over random histories -------------------------------------------------------------

# An event: (hour offset, kind, detail). Webhooks may arrive late: an inbound carries its own send time.
EVENT = st.one_of(
    st.tuples(st.integers(0, 200), st.just("inbound"), st.integers(0, 40), st.booleans()),
    st.tuples(st.integers(0, 200), st.just("consent"), st.sampled_from(["in", "out"]),
              st.sampled_from(["utility", "marketing"])),
    st.tuples(st.integers(0, 200), st.just("send"),
              st.sampled_from(["session", "session+fallback", "utility", "marketing", "authentication"]),
              st.booleans()),
)


def replay(events: List[Tuple]) -> List[Tuple[datetime, Outbound, RecipientState, Decision]]:
    """Apply events in order of processing; return every send's decision with the state it saw."""
    windows, consent, sent = Windows(), Consent(), []
    for offset, kind, a, b in sorted(events, key=lambda e: e[0]):
        now = T0 + offset * H
        if kind == "inbound":  # written `a` hours before we process it
            windows = after_inbound(windows, now - a * H, b, CONFIG)
        elif kind == "consent":
            consent = consent.with_record(b, ConsentRecord(a, now, "keyword"))
        else:
            category = {"utility": "UTILITY", "marketing": "MARKETING", "authentication": "AUTHENTICATION"}
            if a.startswith("session"):
                message = Outbound(fallback=ORDER_UPDATE if a.endswith("fallback") else None)
            else:
                message = Outbound(template=TemplateUse(a, "en_US", category[a]))
            current = RecipientState(windows, consent, LimitUsage(used=0 if b else 250, tier=250))
            decision = decide(current, message, now)
            sent.append((now, message, current, decision))
            if decision.sends:
                windows = after_business_message(windows, now, CONFIG)
    return sent


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENT, max_size=40))
def test_no_free_form_message_outside_the_service_window(events):
    for now, _, current, decision in replay(events):
        if decision.action == Action.SEND_SESSION:
            assert current.windows.service_open(now)


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENT, max_size=40))
def test_no_template_without_an_opt_in_for_its_scope(events):
    for _, _, current, decision in replay(events):
        if decision.action == Action.SEND_TEMPLATE:
            assert current.consent.opted_in(scope_of(decision.template.category))


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENT, max_size=40))
def test_no_marketing_after_an_opt_out(events):
    for _, _, current, decision in replay(events):
        if decision.sends and decision.template is not None and decision.template.category == "MARKETING":
            assert not current.consent.opted_out_anywhere


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENT, max_size=40))
def test_nothing_is_dropped_silently_every_hold_has_a_reason(events):
    for _, message, _, decision in replay(events):
        if not decision.sends:
            assert decision.reason
            # session content is never blocked outright: it can still go when the customer writes
            if message.is_session:
                assert decision.action == Action.DEFER


@settings(max_examples=200, deadline=None)
@given(st.lists(EVENT, max_size=40))
def test_messaging_limit_only_holds_sends_outside_the_window(events):
    for now, _, current, decision in replay(events):
        if decision.until == Until.CAPACITY:
            assert not current.windows.service_open(now)
