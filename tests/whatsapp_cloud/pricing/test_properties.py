"""Properties of the pricing engine over random event histories (hypothesis).

Histories mix several customers and two business numbers, customer messages with and without
referral, templates of every category, free-form messages and reactions, and statuses arriving
late, duplicated, out of order or for messages never recorded, across the pricing eras
(CBP before and after 2024-11-01, PMP before and after 2026-10-01) with small allowances.
"""

from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from typing import Dict, List, Tuple

from hypothesis import HealthCheck, given, settings

from tests.whatsapp_cloud.pricing.harness import RATES, configs, events_of, histories, run
from whatsapp_cloud.pricing import engine as pricing
from whatsapp_cloud.pricing.engine import (
    CBP,
    PMP,
    CategoryTotal,
    PricingBook,
    PricingConfig,
)


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
