"""A customer's rows in the order database: exported whole; on erasure, what identifies them goes.

Tickets are deleted (their text is the customer's); the customer row, orders, refunds, change requests and
ratings stay for the books and for analytics, with the number replaced by an anonymous id derived from the
keyed hash and the name, e-mail, addresses and free text removed.
"""

from datetime import date, datetime
from typing import Any, Dict, List

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine

from privacy.identity import Subject
from shop.db import session_scope
from shop.models import ChangeRequest, CsatRating, Customer, Invoice, OrderItem, Refund, Shipment, Ticket

ERASED = "erased"


def _row(obj: Any) -> Dict[str, Any]:
    values = {c.key: getattr(obj, c.key) for c in inspect(obj).mapper.column_attrs}
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in values.items()}


class ShopRecords:
    def __init__(self, engine: Engine, subject: Subject) -> None:
        self.engine = engine
        self.subject = subject

    def export(self) -> Dict[str, List[Dict[str, Any]]]:
        with session_scope(self.engine) as session:
            customer = session.execute(select(Customer).where(Customer.wa_id == self.subject.wa_id)).scalar()
            orders = list(customer.orders) if customer else []
            order_ids = [o.id for o in orders]

            def by_order(model: Any) -> List[Dict[str, Any]]:
                rows = session.execute(select(model).where(model.order_id.in_(order_ids))).scalars()
                return [_row(r) for r in rows]

            return {
                "customers": [_row(customer)] if customer else [],
                "orders": [_row(o) for o in orders],
                "order_items": by_order(OrderItem),
                "shipments": by_order(Shipment),
                "refunds": by_order(Refund),
                "invoices": by_order(Invoice),
                "change_requests": by_order(ChangeRequest),
                "tickets": [_row(t) for t in session.execute(
                    select(Ticket).where(Ticket.wa_id == self.subject.wa_id)).scalars()],
                "csat_ratings": [_row(r) for r in session.execute(
                    select(CsatRating).where(CsatRating.wa_id == self.subject.wa_id)).scalars()],
            }

    def erase(self) -> Dict[str, Dict[str, int]]:
        wa_id, anonymous = self.subject.wa_id, self.subject.anonymous_id()
        counts: Dict[str, Dict[str, int]] = {}
        with session_scope(self.engine) as session:
            tickets = list(session.execute(select(Ticket).where(Ticket.wa_id == wa_id)).scalars())
            for ticket in tickets:
                session.delete(ticket)
            counts["tickets"] = {"deleted": len(tickets)}
            ratings = list(session.execute(select(CsatRating).where(CsatRating.wa_id == wa_id)).scalars())
            for rating in ratings:
                rating.wa_id = anonymous
            counts["csat_ratings"] = {"anonymised": len(ratings)}
            customer = session.execute(select(Customer).where(Customer.wa_id == wa_id)).scalar()
            orders = list(customer.orders) if customer else []
            if customer:
                customer.wa_id, customer.name, customer.email = anonymous, ERASED, None
            counts["customers"] = {"anonymised": int(customer is not None)}
            changes = refunds = 0
            for order in orders:
                order.shipping_address = ERASED
                for refund in order.refunds:
                    refund.reason, refunds = None, refunds + 1
                query = select(ChangeRequest).where(ChangeRequest.order_id == order.id)
                for change in session.execute(query).scalars():
                    change.details, changes = ERASED, changes + 1
            counts["orders"] = {"anonymised": len(orders)}
            counts["refunds"] = {"anonymised": refunds}
            counts["change_requests"] = {"anonymised": changes}
        return counts
