"""The simulated customers and their orders, written into the shop's database before they write."""

from typing import Any, Dict, Iterable

from sqlalchemy import select

from shop.db import engine_for, session_scope
from shop.models import Customer, Order, utcnow
from shop.seed import build_order
from simulation.journeys import Journey

SHIPPED_STATES = ("shipped", "out_for_delivery", "delivered", "returned")
ITEMS = [("Ceramic mug, blue", 2, 1250), ("Linen tea towel", 1, 900)]


def order_spec(number: str, state: str, refund: Any = None) -> Dict[str, Any]:
    spec: Dict[str, Any] = {"number": number, "status": state, "age": 20 if state == "delivered" else 3,
                            "items": ITEMS}
    if state in SHIPPED_STATES:
        delivered = state in ("delivered", "returned")
        spec["shipment"] = ("DHL", f"JD0146{number}", -10 if delivered else 2)
    if refund:
        spec["refund"] = refund
    return spec


def seed(database_url: str, journeys: Iterable[Journey]) -> int:
    """Adds each journey's customer and orders (once: a second run leaves them as they are)."""
    now, added = utcnow(), 0
    with session_scope(engine_for(database_url)) as session:
        existing = set(session.execute(select(Order.number)).scalars())
        for journey in journeys:
            customer = session.execute(select(Customer).where(Customer.wa_id == journey.wa_id)).scalar_one_or_none()
            if customer is None:
                customer = Customer(wa_id=journey.wa_id, name=journey.name)
                session.add(customer)
            for k, (number, state) in enumerate(journey.orders):
                if number in existing:
                    continue
                refund = journey.flow.refund if k == 0 else None
                session.add(build_order(order_spec(number, state, refund), customer, journey.address, now))
                added += 1
    return added
