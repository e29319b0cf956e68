"""What the agent sees about the customer: WhatsApp profile, what the bot collected, and their orders.

Orders come from the shop's order database (`shop/`); while it is unavailable the agent sees what the
escalation carried.
"""

import functools
import json
import logging
from typing import Any, Dict, List, Optional

from stack import components

logger = logging.getLogger(__name__)
MAX_ORDERS = 5


# Slots that are the bot's bookkeeping, not something an agent needs to know about the customer.
INTERNAL_SLOTS = {"session_started_metadata", "requested_slot", "pending_cancel", "change_blocked",
                  "handoff_reason", "handoff_resolution", "handoff_chat_id", "csat_score", "media_type"}


def customer_data(chat: Dict[str, str]) -> Dict[str, Any]:
    slots = json.loads(chat.get("slots") or "{}")
    return {
        "wa_id": chat["customer"],
        "profile_name": chat.get("profile_name") or None,
        "facts": people_facts(chat, slots),
        "slots": slots,
        "orders": recent_orders(chat["customer"]),
    }


def people_facts(chat: Dict[str, str], slots: Dict[str, Any]) -> List[Dict[str, str]]:
    """What a person reads about the customer, as label and text: never a raw internal structure."""
    facts = [{"label": "Name", "text": chat.get("profile_name") or "not shared"},
             {"label": "WhatsApp", "text": "+" + chat["customer"]}]
    metadata = slots.get("session_started_metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    language = slots.get("language") or metadata.get("wa_language")
    if isinstance(language, str) and language:
        facts.append({"label": "Language", "text": language})
    facts.append({"label": "Came from", "text": _source(metadata.get("wa_referral"))})
    for name, value in slots.items():
        if name in INTERNAL_SLOTS or name == "language" or isinstance(value, (dict, list)) or value in (None, ""):
            continue
        facts.append({"label": name.replace("_", " ").capitalize(), "text": _plain(value)})
    return facts


def _source(referral: Any) -> str:
    """Click-to-WhatsApp ad or post (Meta's referral), else a chat the customer opened themselves."""
    if not isinstance(referral, dict):
        return "wrote to us directly (chat, link or QR code)"
    kind = str(referral.get("source_type") or "ad")
    what = referral.get("headline") or referral.get("body") or ""
    where = referral.get("source_url") or ""
    text = f"{'an ad' if kind == 'ad' else 'a ' + kind}" + (f" “{what}”" if what else "")
    return text + (f" ({where})" if where else "")


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@functools.lru_cache(maxsize=1)
def _shop() -> Any:
    return components.shop()


def recent_orders(wa_id: str) -> Optional[List[Dict[str, Any]]]:
    """The customer's latest orders, or None when there is no order database to ask."""
    try:
        shop = _shop()
    except Exception:  # the agent still gets the chat when the shop database is down
        logger.exception("the order database is unavailable")
        _shop.cache_clear()
        return None
    try:
        orders = shop.orders(wa_id, limit=MAX_ORDERS)
    except Exception:
        logger.exception("order lookup for %s failed", components.customer_ref(wa_id))
        return None
    return [{
        "number": o.number, "status": o.status, "total": f"{o.total_cents / 100:.2f} {o.currency}",
        "placed_at": o.placed_at.isoformat() if o.placed_at else None, "carrier": o.carrier,
        "tracking_number": o.tracking_number, "eta": o.eta.isoformat() if o.eta else None,
    } for o in orders]
