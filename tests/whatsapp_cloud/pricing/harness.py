"""Pricing test data: random event histories for the engine's properties (hypothesis strategies), and the
customer messages the cost ledger's tests record."""

from datetime import datetime, timedelta
from typing import List, Optional

from hypothesis import strategies as st

from whatsapp_cloud.pricing.engine import (
    CBP,
    PMP,
    UTC,
    BusinessMessage,
    CustomerMessage,
    Event,
    MessageStatus,
    PricingBook,
    PricingConfig,
)
from whatsapp_cloud.pricing.rate_card import RateCard
from whatsapp_cloud.webhooks.inbound import InboundMessage

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


CUSTOMER = "15551230001"
NUMBER = "100000000000001"


def customer_message(at: datetime, wa_id: str = CUSTOMER, referral: Optional[dict] = None) -> InboundMessage:
    return InboundMessage(f"wamid.in.{wa_id}.{int(at.timestamp())}", wa_id, int(at.timestamp()), "text", "hi",
                          NUMBER, referral=referral)
