from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from whatsapp_cloud.policy.windows import (
    WindowConfig,
    Windows,
    after_business_message,
    after_inbound,
    with_conversation_expiration,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
CONFIG = WindowConfig()
H = timedelta(hours=1)


def test_no_window_before_any_message():
    assert not Windows().service_open(T0)
    assert not Windows().free_entry_open(T0)


def test_inbound_opens_service_window_for_24h_from_its_own_timestamp():
    w = after_inbound(Windows(), T0, from_referral=False, config=CONFIG)
    assert w.service_until == T0 + 24 * H
    assert w.service_open(T0 + 23 * H)
    assert not w.service_open(T0 + 24 * H)
    assert not w.free_entry_open(T0)


def test_webhook_delivered_late_counts_from_when_the_customer_wrote():
    w = after_inbound(Windows(), T0, from_referral=False, config=CONFIG)
    assert not w.service_open(T0 + 30 * H)  # processed 30 h later: the window is already shut


def test_newer_inbound_refreshes_and_older_never_shortens():
    w = after_inbound(Windows(), T0 + 10 * H, from_referral=False, config=CONFIG)
    older = after_inbound(w, T0, from_referral=False, config=CONFIG)
    assert older.service_until == T0 + 34 * H
    newer = after_inbound(w, T0 + 20 * H, from_referral=False, config=CONFIG)
    assert newer.service_until == T0 + 44 * H


def test_business_messages_never_extend_the_service_window():
    w = after_inbound(Windows(), T0, from_referral=False, config=CONFIG)
    assert after_business_message(w, T0 + 23 * H, CONFIG).service_until == T0 + 24 * H


def test_reply_within_24h_of_referral_opens_72h_free_entry_window_from_the_reply():
    w = after_inbound(Windows(), T0, from_referral=True, config=CONFIG)
    assert w.referral_reply_by == T0 + 24 * H
    replied = after_business_message(w, T0 + 2 * H, CONFIG)
    assert replied.free_entry_until == T0 + 74 * H
    assert replied.free_entry_open(T0 + 73 * H)
    assert not replied.free_entry_open(T0 + 74 * H)
    assert replied.referral_reply_by is None
    # a second reply does not push the free entry window further
    assert after_business_message(replied, T0 + 5 * H, CONFIG).free_entry_until == T0 + 74 * H


def test_reply_after_the_referral_deadline_opens_nothing():
    w = after_inbound(Windows(), T0, from_referral=True, config=CONFIG)
    assert after_business_message(w, T0 + 25 * H, CONFIG) == w


def test_window_lengths_are_configuration():
    config = WindowConfig(service=2 * H, free_entry=7 * 24 * H, free_entry_reply_deadline=1 * H)
    w = after_inbound(Windows(), T0, from_referral=True, config=config)
    assert w.service_until == T0 + 2 * H
    assert after_business_message(w, T0 + 90 * timedelta(minutes=1), config).free_entry_until is None
    assert after_business_message(w, T0 + 30 * timedelta(minutes=1), config).free_entry_until == (
        T0 + timedelta(minutes=30) + 7 * 24 * H
    )


def test_conversation_expiration_from_meta_wins():
    w = after_business_message(after_inbound(Windows(), T0, True, CONFIG), T0 + H, CONFIG)
    assert with_conversation_expiration(w, T0 + 7 * 24 * H).free_entry_until == T0 + 7 * 24 * H
    assert with_conversation_expiration(w, T0 + 10 * H).free_entry_until == T0 + 10 * H


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        after_inbound(Windows(), datetime(2026, 11, 1), False, CONFIG)
    with pytest.raises(ValueError, match="timezone-aware"):
        Windows().service_open(datetime(2026, 11, 1))


@given(st.lists(st.tuples(st.integers(0, 200 * 3600), st.booleans()), min_size=1, max_size=30))
def test_service_window_is_24h_after_the_latest_customer_message_whatever_the_delivery_order(events):
    w = Windows()
    for offset, referral in events:
        w = after_inbound(w, T0 + timedelta(seconds=offset), referral, CONFIG)
    latest = max(offset for offset, _ in events)
    assert w.service_until == T0 + timedelta(seconds=latest) + CONFIG.service
