"""Load the business's own orders from a CSV file into the order database (the operator command is
`python -m tools.import_orders orders.csv`, or `make import-orders CSV=orders.csv`).

One row per order line; the order's own columns repeat on each of its lines and must agree:

    order_number,wa_id,customer_name,status,placed_at,shipping_address,item,quantity,unit_price,
    currency,carrier,tracking_number,eta

`placed_at` and `eta` are ISO dates (2026-11-20 or 2026-11-20T14:05); `unit_price` is a decimal
amount (12.50); `carrier`, `tracking_number` and `eta` are needed from `shipped` on. Every row is
checked first; any error is reported with its line number and nothing is loaded. An order number
that exists already is replaced by the file's version (its refunds and tickets stay).
"""

import csv
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db import engine_for, session_scope
from shop.models import ORDER_STATES, Customer, Invoice, Order, OrderItem, Shipment
from shop.orders import normalize_order_number

COLUMNS = (
    "order_number", "wa_id", "customer_name", "status", "placed_at", "shipping_address",
    "item", "quantity", "unit_price", "currency", "carrier", "tracking_number", "eta",
)
REQUIRED = ("order_number", "wa_id", "customer_name", "status", "placed_at", "shipping_address",
            "item", "quantity", "unit_price")
ORDER_FIELDS = ("wa_id", "customer_name", "status", "placed_at", "shipping_address", "currency",
                "carrier", "tracking_number", "eta")
SHIPPED_STATES = ("shipped", "out_for_delivery", "delivered", "returned")


class OrderFileError(Exception):
    """The file has errors; `errors` lists each with its line number."""

    def __init__(self, errors: List[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportedOrder:
    number: str
    fields: Dict[str, object]
    first_line: int
    items: List[Tuple[str, int, int]] = field(default_factory=list)


def _parse_row(row: Dict[str, str], errors: List[str], line: int) -> Optional[Tuple[str, Dict[str, object], tuple]]:
    def fail(message: str) -> None:
        errors.append(f"line {line}: {message}")

    values = {k: (row.get(k) or "").strip() for k in COLUMNS}
    missing = [k for k in REQUIRED if not values[k]]
    if missing:
        fail(f"missing {', '.join(missing)}")
        return None
    before = len(errors)
    number = normalize_order_number(values["order_number"])
    if number is None:
        fail(f"order_number {values['order_number']!r} is not an order number (like 1001 or A-10023)")
    if not re.fullmatch(r"\d{6,15}", values["wa_id"]):
        fail(f"wa_id {values['wa_id']!r} must be the WhatsApp number in digits, with country code (15551230001)")
    if values["status"] not in ORDER_STATES:
        fail(f"status {values['status']!r} is not one of {', '.join(ORDER_STATES)}")
    try:
        placed_at = datetime.fromisoformat(values["placed_at"])
    except ValueError:
        fail(f"placed_at {values['placed_at']!r} is not an ISO date (2026-11-20 or 2026-11-20T14:05)")
        placed_at = None
    try:
        quantity = int(values["quantity"])
        if quantity < 1:
            raise ValueError
    except ValueError:
        fail(f"quantity {values['quantity']!r} must be a whole number of at least 1")
        quantity = 0
    try:
        price = Decimal(values["unit_price"])
        if price < 0 or price != price.quantize(Decimal("0.01")):
            raise InvalidOperation
        unit_cents = int(price * 100)
    except InvalidOperation:
        fail(f"unit_price {values['unit_price']!r} must be an amount like 12.50")
        unit_cents = 0
    currency = values["currency"].upper() or "USD"
    if not re.fullmatch(r"[A-Z]{3}", currency):
        fail(f"currency {values['currency']!r} must be a 3-letter code (USD)")
    eta: Optional[date] = None
    if values["eta"]:
        try:
            eta = date.fromisoformat(values["eta"][:10])
        except ValueError:
            fail(f"eta {values['eta']!r} is not an ISO date (2026-11-24)")
    if values["status"] in SHIPPED_STATES and not (values["carrier"] and values["tracking_number"]):
        fail(f"a {values['status']} order needs carrier and tracking_number")
    if len(errors) > before:
        return None
    fields = {
        "wa_id": values["wa_id"], "customer_name": values["customer_name"], "status": values["status"],
        "placed_at": placed_at, "shipping_address": values["shipping_address"], "currency": currency,
        "carrier": values["carrier"] or None, "tracking_number": values["tracking_number"] or None, "eta": eta,
    }
    return number, fields, (values["item"], quantity, unit_cents)


def parse(stream: TextIO) -> List[ImportedOrder]:
    """The orders of a CSV file; raises OrderFileError listing every bad line."""
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing_columns = [c for c in REQUIRED if c not in header]
    if missing_columns:
        raise OrderFileError([f"line 1: the header lacks the column(s) {', '.join(missing_columns)}"])
    reader.fieldnames = header
    errors: List[str] = []
    orders: Dict[str, ImportedOrder] = {}
    owners: Dict[str, str] = {}
    for row in reader:
        line = reader.line_num
        parsed = _parse_row(row, errors, line)
        if parsed is None:
            continue
        number, fields, item = parsed
        order = orders.get(number)
        if order is None:
            orders[number] = order = ImportedOrder(number, fields, line)
        else:
            differing = [k for k in ORDER_FIELDS if fields[k] != order.fields[k]]
            if differing:
                errors.append(
                    f"line {line}: order {number} has a different {', '.join(differing)} "
                    f"than on line {order.first_line}"
                )
                continue
        name = owners.setdefault(str(fields["wa_id"]), str(fields["customer_name"]))
        if name != fields["customer_name"]:
            errors.append(f"line {line}: customer {fields['wa_id']} is named {name!r} on an earlier line")
            continue
        order.items.append(item)
    if not orders and not errors:
        errors.append("the file has no order rows")
    if errors:
        raise OrderFileError(errors)
    return list(orders.values())


def load(session: Session, orders: Sequence[ImportedOrder]) -> Tuple[int, int]:
    """Writes the orders (in the caller's transaction); returns (created, replaced)."""
    errors: List[str] = []
    created = replaced = 0
    for imported in orders:
        f = imported.fields
        customer = session.execute(select(Customer).where(Customer.wa_id == f["wa_id"])).scalar_one_or_none()
        if customer is None:
            customer = Customer(wa_id=f["wa_id"], name=f["customer_name"])
            session.add(customer)
        else:
            customer.name = str(f["customer_name"])
        order = session.execute(select(Order).where(Order.number == imported.number)).scalar_one_or_none()
        if order is not None and order.customer.wa_id != f["wa_id"]:
            errors.append(
                f"line {imported.first_line}: order {imported.number} already belongs to another customer"
            )
            continue
        if order is None:
            order = Order(number=imported.number, customer=customer)
            session.add(order)
            created += 1
        else:
            replaced += 1
        placed_at = f["placed_at"]
        order.status = f["status"]
        order.placed_at = placed_at
        order.currency = f["currency"]
        order.shipping_address = f["shipping_address"]
        order.paid_at = None if f["status"] == "placed" else (order.paid_at or placed_at)
        order.items = [OrderItem(description=d, quantity=q, unit_price_cents=p) for d, q, p in imported.items]
        if f["carrier"]:
            shipment = order.shipment or Shipment()
            shipment.carrier, shipment.tracking_number, shipment.eta = f["carrier"], f["tracking_number"], f["eta"]
            order.shipment = shipment
        if order.paid_at is not None and order.invoice is None:
            order.invoice = Invoice(number=f"INV-{placed_at:%Y}-{imported.number}", issued_on=placed_at.date())
    if errors:
        raise OrderFileError(errors)
    return created, replaced


def import_file(path: Path, url: str) -> Tuple[int, int]:
    with path.open(newline="", encoding="utf-8-sig") as stream:
        orders = parse(stream)
    engine = engine_for(url, seed=False)
    with session_scope(engine) as session:  # one transaction: all rows or none
        return load(session, orders)
