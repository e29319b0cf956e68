"""What the agent sees about the customer: WhatsApp profile, what the bot collected, and their orders.

The order database (`bot/shop/`) is optional here: when it is installed its lookup is used, otherwise
the agent sees what the escalation carried.
"""

import json
import logging
from typing import Any, Dict

logger = logging.getLogger(__name__)


def customer_data(chat: Dict[str, str]) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "wa_id": chat["customer"],
        "profile_name": chat.get("profile_name") or None,
        "slots": json.loads(chat.get("slots") or "{}"),
        "orders": None,
    }
    data["orders"] = _orders(chat["customer"])
    return data


def _orders(wa_id: str) -> Any:
    try:
        from bot.shop import customer_orders  # type: ignore[attr-defined]
    except ImportError:
        return None  # the order database is not part of this installation
    try:
        return customer_orders(wa_id)
    except Exception:  # the agent still gets the chat when the shop database is down
        logger.exception("order lookup for %s failed", wa_id)
        return None
