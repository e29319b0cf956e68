"""Order numbers and how each order state reads to a customer."""

import re
from typing import Optional

_ORDER_NUMBER = re.compile(r"^(?:[A-Z]{1,3}-?)?\d{3,12}$")

STATE_LABELS = {
    "placed": "placed, waiting for payment",
    "paid": "paid, being prepared",
    "packed": "packed, ready to ship",
    "shipped": "shipped",
    "out_for_delivery": "out for delivery today",
    "delivered": "delivered",
    "cancelled": "cancelled",
    "returned": "returned",
}

REFUND_LABELS = {
    "requested": "requested, waiting for review",
    "approved": "approved, the money is on its way",
    "paid": "paid back",
    "rejected": "not approved",
}


def normalize_order_number(text: Optional[str]) -> Optional[str]:
    """'#1002', ' order 1002 ', 'a-10023' -> '1002', 'A-10023'; None when it is no order number."""
    if not text:
        return None
    value = re.sub(r"^(?:order|no\.?|number)\s*", "", str(text).strip(), flags=re.IGNORECASE)
    value = value.lstrip("#").strip().upper()
    return value if _ORDER_NUMBER.match(value) else None


def money(cents: int, currency: str) -> str:
    return f"{currency} {cents / 100:,.2f}"
