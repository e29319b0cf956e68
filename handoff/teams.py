"""Teams and the skills they cover: the detected intent chooses the team a chat waits for."""

from typing import Optional

TEAMS = ("orders", "refunds", "payments", "general")

_TEAM_OF_INTENT = {
    "order_status": "orders", "cancel_order": "orders", "change_order": "orders", "delivery_period": "orders",
    "delivery_options": "orders", "change_shipping_address": "orders", "place_order": "orders",
    "get_refund": "refunds", "track_refund": "refunds", "refund_policy": "refunds",
    "payment_issue": "payments", "payment_methods": "payments", "get_invoice": "payments",
}


def team_for(intent: Optional[str]) -> str:
    return _TEAM_OF_INTENT.get(intent or "", "general")
