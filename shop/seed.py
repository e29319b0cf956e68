"""Demo customers and orders, one in every state, so the bot can be tried at once.

Seeding is idempotent: an order number that exists already is left as it is. The stand-in's
default customer (`make say`) is 15551230001, Sam Lee.
"""

from datetime import datetime, timedelta
from typing import Any, Dict, List

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import Customer, Invoice, Order, OrderItem, Refund, Shipment, utcnow

CUSTOMERS = {
    "15551230001": "Sam Lee",
    "15551230002": "Ana Lima",
    "15551230003": "Omar Haddad",
}

ADDRESSES = {
    "15551230001": "12 Harbour Street, Springfield, 62701",
    "15551230002": "Rua das Flores 45, Lisbon, 1200-195",
    "15551230003": "8 Cedar Avenue, Portland, 97201",
}

# number, customer, state, days since placed, items (description, quantity, unit price in cents),
# shipment (carrier, tracking, ETA in days from now), refund state
DEMO_ORDERS: List[Dict[str, Any]] = [
    {"number": "1001", "wa_id": "15551230001", "status": "shipped", "age": 3,
     "items": [("Ceramic mug, blue", 2, 1250), ("Pour-over coffee set", 1, 3900)],
     "shipment": ("UPS", "1Z999AA10123456784", 2)},
    {"number": "1002", "wa_id": "15551230001", "status": "paid", "age": 1,
     "items": [("Linen tea towel", 3, 900)]},
    {"number": "1003", "wa_id": "15551230001", "status": "delivered", "age": 20,
     "items": [("Cast-iron teapot", 1, 5400)], "shipment": ("DHL", "JD014600003828374652", -14)},
    {"number": "A-10023", "wa_id": "15551230001", "status": "out_for_delivery", "age": 4,
     "items": [("Bamboo serving board", 1, 2800)], "shipment": ("FedEx", "794612345678", 0)},
    {"number": "1004", "wa_id": "15551230002", "status": "packed", "age": 1,
     "items": [("Stoneware bowl set", 1, 4600)]},
    {"number": "1005", "wa_id": "15551230003", "status": "placed", "age": 0,
     "items": [("Glass storage jar", 4, 750)]},
    {"number": "1006", "wa_id": "15551230003", "status": "cancelled", "age": 12,
     "items": [("Espresso cups, set of 4", 1, 3200)], "refund": "paid"},
    {"number": "1007", "wa_id": "15551230003", "status": "returned", "age": 30,
     "items": [("Wool throw", 1, 8900)], "shipment": ("UPS", "1Z999AA10123456999", -24), "refund": "approved"},
    {"number": "1008", "wa_id": "15551230003", "status": "delivered", "age": 40,
     "items": [("Oak cutting board", 1, 3500)], "shipment": ("USPS", "9400111899223100000000", -33),
     "refund": "rejected"},
    {"number": "1009", "wa_id": "15551230003", "status": "delivered", "age": 15,
     "items": [("French press", 1, 4200)], "shipment": ("DHL", "JD014600003828370001", -9),
     "refund": "requested"},
]


def seed_demo_data(session: Session, now: datetime | None = None) -> int:
    """Adds the demo customers and orders that are missing; returns how many orders were added."""
    now = now or utcnow()
    customers = {}
    for wa_id, name in CUSTOMERS.items():
        customer = session.execute(select(Customer).where(Customer.wa_id == wa_id)).scalar_one_or_none()
        if customer is None:
            customer = Customer(wa_id=wa_id, name=name)
            session.add(customer)
        customers[wa_id] = customer
    session.flush()

    existing = set(session.execute(select(Order.number)).scalars())
    added = 0
    for spec in DEMO_ORDERS:
        if spec["number"] in existing:
            continue
        session.add(build_order(spec, customers[spec["wa_id"]], ADDRESSES[spec["wa_id"]], now))
        added += 1
    return added


def build_order(spec: Dict[str, Any], customer: Customer, address: str, now: datetime) -> Order:
    """One order as `DEMO_ORDERS` describes it (state, age, items, shipment, refund), with its invoice
    once paid."""
    placed = now - timedelta(days=spec["age"])
    order = Order(
        number=spec["number"], customer=customer, status=spec["status"], currency="USD",
        shipping_address=address, placed_at=placed,
        paid_at=None if spec["status"] == "placed" else placed + timedelta(minutes=5),
    )
    order.items = [OrderItem(description=d, quantity=q, unit_price_cents=p) for d, q, p in spec["items"]]
    if "shipment" in spec:
        carrier, tracking, eta_days = spec["shipment"]
        delivered = spec["status"] in ("delivered", "returned")
        order.shipment = Shipment(
            carrier=carrier, tracking_number=tracking, eta=(now + timedelta(days=eta_days)).date(),
            shipped_at=placed + timedelta(days=1),
            delivered_at=now + timedelta(days=eta_days) if delivered else None,
        )
    if order.paid_at is not None:
        order.invoice = Invoice(number=f"INV-{placed:%Y}-{spec['number']}", issued_on=order.paid_at.date())
    if "refund" in spec:
        order.refunds = [Refund(status=spec["refund"], amount_cents=order.total_cents, reason="demo")]
    return order
