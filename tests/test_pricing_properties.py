"""Properties of the pricing engine over random event histories (hypothesis).

Histories mix several customers and two business numbers, customer messages with and without
referral, templates of every category, free-form messages and reactions, and statuses arriving
late, duplicated, out of order or for messages never recorded, across the pricing eras
(CBP before and after 2024-11-01, PMP before and after 2026-10-01) with small allowances.
"""

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Dict, List, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whatsapp_cloud.pricing import engine as pricing
from whatsapp_cloud.pricing.engine import (
    CBP,
    PMP,
    UTC,
    BusinessMessage,
    CategoryTotal,
    CustomerMessage,
    Event,
    MessageStatus,
    PricingBook,
    PricingConfig,
)
from whatsapp_cloud.pricing.rate_card import RateCard

RATES = RateCard.load()
CUSTOMERS = ("15551230001", "919876543210", "447700900123")
NUMBERS = ("100000000000001", "100000000000002")
STARTS = (
    datetime(2024, 10, 30, tzinfo=UTC),
    datetime(2025, 8, 4, tzinfo=UTC),
    datetime(2026, 9, 29, 20, tzinfo=UTC),
    datetime(2026, 10, 31, 12, tzinfo=UTC),
)
KINDS = (("template", "marketing"), ("template", "utility"), ("template", "authentication"),
         ("template", "authentication_international"), ("free_form", None), ("reaction", None))
STATUSES = ("sent", "delivered", "read", "failed", "delivered")
META_PRICING = (
    None,
    {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"},
    {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"},
    {"billable": True, "pricing_model": "CBP", "category": "utility"},
    {"pricing_model": "PMP", "type": "free_group_customer_service", "category": "group_service"},
)

step = st.one_of(
    st.tuples(st.just("customer"), st.integers(0, 2), st.integers(0, 600), st.booleans()),
    st.tuples(st.just("send"), st.integers(0, 2), st.integers(0, 600), st.integers(0, len(KINDS) - 1),
              st.integers(0, 1), st.booleans()),
    st.tuples(st.just("status"), st.integers(0, 8), st.integers(0, 1800), st.integers(0, len(STATUSES) - 1),
              st.integers(0, len(META_PRICING) - 1)),
)
histories = st.tuples(st.sampled_from(STARTS), st.lists(step, min_size=10, max_size=80))
configs = st.builds(
    PricingConfig,
    model=st.sampled_from((CBP, PMP)),
    service_allowance=st.integers(0, 3),
    cbp_service_allowance=st.integers(0, 3),
)


def events_of(start: datetime, steps: List[tuple]) -> List[Event]:
    """Customer messages and sends move the clock forward (minutes); statuses refer to earlier sends
    and carry their own delivery time, so they can be late and out of order."""
    events: List[Event] = []
    sends: List[BusinessMessage] = []
    now = start
    for item in steps:
        if item[0] == "customer":
            _, who, minutes, referral = item
            now += timedelta(minutes=minutes)
            events.append(CustomerMessage(CUSTOMERS[who], now, referral, f"wamid.in.{len(events)}"))
        elif item[0] == "send":
            _, who, minutes, kind, number, delivered_at_once = item
            now += timedelta(minutes=minutes)
            message = BusinessMessage(CUSTOMERS[who], f"wamid.out.{len(sends)}", now, *KINDS[kind], NUMBERS[number])
            sends.append(message)
            events.append(message)
            if delivered_at_once:
                events.append(MessageStatus(message.wa_id, message.wamid, "delivered", now, message.phone_number_id))
        else:
            _, back, delay, state, meta = item
            if back < len(sends) and back < 8:  # one of the latest sends
                sent = sends[-1 - back]
                wa_id, wamid, number, at = sent.wa_id, sent.wamid, sent.phone_number_id, sent.at
            else:  # a message the ledger never saw
                wa_id, wamid, number, at = CUSTOMERS[delay % 3], f"wamid.elsewhere.{delay}", NUMBERS[0], now
            events.append(MessageStatus(wa_id, wamid, STATUSES[state], at + timedelta(minutes=delay), number,
                                        META_PRICING[meta]))
    return events


def run(config: PricingConfig, events: List[Event]) -> PricingBook:
    book = PricingBook(config, RATES)
    for event in events:
        book.record(event)
    return book


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, history=histories)
def test_costs_are_never_negative_and_each_message_is_charged_once(config: PricingConfig, history) -> None:
    book = run(config, events_of(*history))
    assert all(charge.amount_micros >= 0 for charge in book.charges)
    assert all(total.micros >= 0 and total.charged <= total.messages for total in book.totals().values())
    wamids = [charge.wamid for charge in book.charges]
    assert len(wamids) == len(set(wamids))
    conversations = {c.id: c for c in book.conversations}
    for charge in book.charges:  # every rate on the card is above zero
        if config.model == PMP:
            assert charge.billable == (charge.type == "regular") == (charge.amount_micros > 0)
        else:
            assert charge.billable == (conversations[charge.conversation_id].amount_micros > 0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, history=histories)
def test_totals_equal_the_sum_of_the_charges(config: PricingConfig, history) -> None:
    book = run(config, events_of(*history))
    by_customer: Dict[str, Dict[str, CategoryTotal]] = defaultdict(dict)
    for charge in book.charges:
        before = by_customer[charge.wa_id].get(charge.category, CategoryTotal())
        by_customer[charge.wa_id][charge.category] = CategoryTotal(
            before.messages + 1, before.charged + (charge.amount_micros > 0), before.micros + charge.amount_micros)
    for wa_id, state in book.customers.items():
        assert dict(state.totals) == by_customer.get(wa_id, {})
    assert sum(t.micros for t in book.totals().values()) == sum(c.amount_micros for c in book.charges)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs.map(lambda c: replace(c, model=CBP)), history=histories)
def test_at_most_one_open_conversation_per_category(config: PricingConfig, history) -> None:
    book = run(config, events_of(*history))
    periods: Dict[Tuple[str, str], List[Tuple[datetime, datetime]]] = defaultdict(list)
    for conversation in book.conversations:
        wa_id = conversation.id.split(":")[0]
        periods[(wa_id, conversation.category)].append((conversation.opened_at, conversation.expires_at))
    for spans in periods.values():
        spans.sort()
        for (_, first_end), (second_start, _) in zip(spans, spans[1:], strict=False):
            assert second_start >= first_end
    # Every charged CBP message opened a conversation; messages inside one cost nothing more.
    opened = {c.id for c in book.conversations}
    assert all(c.conversation_id in opened for c in book.charges)
    assert sum(c.amount_micros for c in book.conversations) == sum(c.amount_micros for c in book.charges)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, history=histories)
def test_same_events_same_charges_even_through_storage(config: PricingConfig, history) -> None:
    events = events_of(*history)
    first, second = run(config, events), run(config, events)
    assert first.charges == second.charges and first.customers == second.customers

    # The Redis ledger stores the state as JSON and the events in its log between every step.
    stored = PricingBook(config, RATES)
    for event in events:
        event = pricing.event_from_dict(pricing.event_to_dict(event))
        state = stored.customers.get(event.wa_id)
        if state is not None:
            stored.customers[event.wa_id] = pricing.state_from_dict(pricing.state_to_dict(state))
        stored.record(event)
    assert stored.charges == first.charges
