"""What the agent sees about the customer: WhatsApp profile, what the bot collected, and their orders.

Orders come from the shop's order database (`bot.shop`) when it is installed; without it the agent
sees what the escalation carried.
"""

import functools
import json
import logging
from typing import Any, Dict, List, Optional

from handoff.pseudonyms import customer_ref

logger = logging.getLogger(__name__)
MAX_ORDERS = 5


def customer_data(chat: Dict[str, str]) -> Dict[str, Any]:
    return {
        "wa_id": chat["customer"],
        "profile_name": chat.get("profile_name") or None,
        "slots": json.loads(chat.get("slots") or "{}"),
        "orders": recent_orders(chat["customer"]),
    }


@functools.lru_cache(maxsize=1)
def _shop() -> Any:
    from bot.shop.service import Shop

    return Shop.from_env()


def recent_orders(wa_id: str) -> Optional[List[Dict[str, Any]]]:
    """The customer's latest orders, or None when there is no order database to ask."""
    try:
        shop = _shop()
    except ImportError:
        return None  # this installation has no order database
    except Exception:  # the agent still gets the chat when the shop database is down
        logger.exception("the order database is unavailable")
        _shop.cache_clear()
        return None
    try:
        orders = shop.orders(wa_id, limit=MAX_ORDERS)
    except Exception:
        logger.exception("order lookup for %s failed", customer_ref(wa_id))
        return None
    return [{
        "number": o.number, "status": o.status, "total": f"{o.total_cents / 100:.2f} {o.currency}",
        "placed_at": o.placed_at.isoformat() if o.placed_at else None, "carrier": o.carrier,
        "tracking_number": o.tracking_number, "eta": o.eta.isoformat() if o.eta else None,
    } for o in orders]
