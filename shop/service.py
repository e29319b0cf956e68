"""What the bot may do with the order database, always on behalf of one customer (their WhatsApp
number). An order of another customer is treated exactly like an order that does not exist."""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, List, Optional, Tuple, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from shop.db import ShopUnavailable, session_scope
from shop.models import (
    CHANGEABLE_STATES,
    ChangeRequest,
    CsatRating,
    Customer,
    Invoice,
    Order,
    Refund,
    Ticket,
)
from shop.orders import normalize_order_number

logger = logging.getLogger(__name__)

T = TypeVar("T")

REFUNDABLE_STATES = ("delivered", "returned")


@dataclass(frozen=True)
class Item:
    description: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class RefundView:
    order_number: str
    status: str
    amount_cents: int
    currency: str
    requested_at: datetime


@dataclass(frozen=True)
class OrderView:
    number: str
    status: str
    currency: str
    total_cents: int
    shipping_address: str
    placed_at: datetime
    customer_name: str
    items: Tuple[Item, ...] = ()
    carrier: Optional[str] = None
    tracking_number: Optional[str] = None
    eta: Optional[date] = None
    invoice_number: Optional[str] = None
    invoice_date: Optional[date] = None
    refunds: Tuple[RefundView, ...] = field(default_factory=tuple)

    @property
    def changeable(self) -> bool:
        return self.status in CHANGEABLE_STATES


@dataclass(frozen=True)
class Outcome:
    """The result of a request: what happened (`result`) and the order as it is now."""

    result: str
    order: Optional[OrderView] = None
    refund: Optional[RefundView] = None


@dataclass(frozen=True)
class TicketView:
    id: int
    kind: str
    order_number: Optional[str]
    created: bool  # False when an open ticket already covered this


def _view(order: Order) -> OrderView:
    shipment = order.shipment
    return OrderView(
        number=order.number,
        status=order.status,
        currency=order.currency,
        total_cents=order.total_cents,
        shipping_address=order.shipping_address,
        placed_at=order.placed_at,
        customer_name=order.customer.name,
        items=tuple(Item(i.description, i.quantity, i.unit_price_cents) for i in order.items),
        carrier=shipment.carrier if shipment else None,
        tracking_number=shipment.tracking_number if shipment else None,
        eta=shipment.eta if shipment else None,
        invoice_number=order.invoice.number if order.invoice else None,
        invoice_date=order.invoice.issued_on if order.invoice else None,
        refunds=tuple(_refund_view(r) for r in order.refunds),
    )


def _refund_view(refund: Refund) -> RefundView:
    order = refund.order
    return RefundView(order.number, refund.status, refund.amount_cents, order.currency, refund.requested_at)


class Shop:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _run(self, work: Callable[[Session], T]) -> T:
        try:
            with session_scope(self.engine) as session:
                return work(session)
        except SQLAlchemyError as exc:
            logger.error("order database error: %s", exc)
            raise ShopUnavailable(str(exc)) from exc

    @staticmethod
    def _order(session: Session, wa_id: str, number: Optional[str]) -> Optional[Order]:
        normalized = normalize_order_number(number)
        if normalized is None:
            return None
        return session.execute(
            select(Order).join(Customer).where(Order.number == normalized, Customer.wa_id == str(wa_id))
        ).scalar_one_or_none()

    # -- reading -------------------------------------------------------------------------------

    def customer_name(self, wa_id: str) -> Optional[str]:
        return self._run(
            lambda s: s.execute(select(Customer.name).where(Customer.wa_id == str(wa_id))).scalar_one_or_none()
        )

    def order(self, wa_id: str, number: Optional[str]) -> Optional[OrderView]:
        """The customer's order with this number; None for unknown numbers and other customers' orders."""

        def work(session: Session) -> Optional[OrderView]:
            order = self._order(session, wa_id, number)
            return _view(order) if order else None

        return self._run(work)

    def orders(self, wa_id: str, states: Optional[Tuple[str, ...]] = None, limit: int = 10) -> List[OrderView]:
        """The customer's orders, newest first."""

        def work(session: Session) -> List[OrderView]:
            query = select(Order).join(Customer).where(Customer.wa_id == str(wa_id))
            if states:
                query = query.where(Order.status.in_(states))
            query = query.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)
            return [_view(o) for o in session.execute(query).scalars()]

        return self._run(work)

    def refunds(self, wa_id: str, number: Optional[str] = None) -> List[RefundView]:
        def work(session: Session) -> List[RefundView]:
            query = select(Refund).join(Order).join(Customer).where(Customer.wa_id == str(wa_id))
            if number is not None:
                normalized = normalize_order_number(number)
                if normalized is None:
                    return []
                query = query.where(Order.number == normalized)
            query = query.order_by(Refund.requested_at.desc(), Refund.id.desc())
            return [_refund_view(r) for r in session.execute(query).scalars()]

        return self._run(work)

    # -- changing --------------------------------------------------------------------------------

    def cancel(self, wa_id: str, number: str) -> Outcome:
        """cancelled | already_cancelled | too_late | not_found. A paid order gets its refund approved."""

        def work(session: Session) -> Outcome:
            order = self._order(session, wa_id, number)
            if order is None:
                return Outcome("not_found")
            if order.status == "cancelled":
                return Outcome("already_cancelled", _view(order))
            if order.status not in CHANGEABLE_STATES:
                return Outcome("too_late", _view(order))
            order.status = "cancelled"
            refund = None
            if order.paid_at is not None and not order.refunds:
                refund = Refund(order=order, status="approved", amount_cents=order.total_cents, reason="cancelled")
                session.add(refund)
            session.flush()
            return Outcome("cancelled", _view(order), _refund_view(refund) if refund else None)

        return self._run(work)

    def change_address(self, wa_id: str, number: str, address: str) -> Outcome:
        """changed | too_late | not_found."""

        def work(session: Session) -> Outcome:
            order = self._order(session, wa_id, number)
            if order is None:
                return Outcome("not_found")
            if order.status not in CHANGEABLE_STATES:
                return Outcome("too_late", _view(order))
            order.shipping_address = address.strip()
            session.flush()
            return Outcome("changed", _view(order))

        return self._run(work)

    def request_change(
        self, wa_id: str, number: str, details: str, delivery_date: Optional[date], source_wamid: Optional[str]
    ) -> Outcome:
        """requested (recorded once per inbound message) | too_late | not_found."""

        def work(session: Session) -> Outcome:
            order = self._order(session, wa_id, number)
            if order is None:
                return Outcome("not_found")
            if order.status not in CHANGEABLE_STATES:
                return Outcome("too_late", _view(order))
            if source_wamid and session.execute(
                select(ChangeRequest.id).where(ChangeRequest.source_wamid == source_wamid)
            ).first():
                return Outcome("requested", _view(order))
            session.add(
                ChangeRequest(
                    order_id=order.id, details=details.strip(), delivery_date=delivery_date, source_wamid=source_wamid
                )
            )
            return Outcome("requested", _view(order))

        return self._run(work)

    def request_refund(self, wa_id: str, number: str, reason: Optional[str] = None) -> Outcome:
        """requested | exists (a refund was asked for before) | not_yet (still on its way) |
        cancel_instead (not shipped: cancelling refunds it) | not_paid | not_found."""

        def work(session: Session) -> Outcome:
            order = self._order(session, wa_id, number)
            if order is None:
                return Outcome("not_found")
            if order.refunds:
                return Outcome("exists", _view(order), _refund_view(order.refunds[-1]))
            if order.paid_at is None:
                return Outcome("not_paid", _view(order))
            if order.status in CHANGEABLE_STATES:
                return Outcome("cancel_instead", _view(order))
            if order.status not in REFUNDABLE_STATES:
                return Outcome("not_yet", _view(order))
            refund = Refund(order=order, status="requested", amount_cents=order.total_cents, reason=reason)
            session.add(refund)
            session.flush()
            return Outcome("requested", _view(order), _refund_view(refund))

        return self._run(work)

    def invoice(self, wa_id: str, number: str) -> Outcome:
        """ready | not_paid | not_found. The invoice number is issued the first time it is asked for."""

        def work(session: Session) -> Outcome:
            order = self._order(session, wa_id, number)
            if order is None:
                return Outcome("not_found")
            if order.paid_at is None:
                return Outcome("not_paid", _view(order))
            if order.invoice is None:
                order.invoice = Invoice(number=f"INV-{order.placed_at:%Y}-{order.number}", issued_on=date.today())
                session.flush()
            return Outcome("ready", _view(order))

        return self._run(work)

    # -- the team ----------------------------------------------------------------------------------

    def open_ticket(
        self,
        wa_id: str,
        kind: str,
        summary: str,
        source_wamid: Optional[str],
        order_number: Optional[str] = None,
        external_ref: Optional[str] = None,
    ) -> TicketView:
        """Opens a ticket at most once: the same inbound message, or an open ticket of the same
        kind for the same customer and order, returns the existing ticket."""
        number = normalize_order_number(order_number)

        def existing(session: Session) -> Optional[Ticket]:
            if source_wamid:
                ticket = session.execute(select(Ticket).where(Ticket.source_wamid == source_wamid)).scalar_one_or_none()
                if ticket is not None:
                    return ticket
            return session.execute(
                select(Ticket)
                .where(Ticket.wa_id == str(wa_id), Ticket.kind == kind, Ticket.status == "open")
                .where(Ticket.order_number == number if number else Ticket.order_number.is_(None))
                .order_by(Ticket.id)
            ).scalars().first()

        def work(session: Session) -> TicketView:
            ticket = existing(session)
            if ticket is not None:
                if external_ref and not ticket.external_ref:
                    ticket.external_ref = external_ref
                return TicketView(ticket.id, ticket.kind, ticket.order_number, created=False)
            ticket = Ticket(
                wa_id=str(wa_id), kind=kind, summary=summary[:2000], source_wamid=source_wamid,
                order_number=number, external_ref=external_ref,
            )
            session.add(ticket)
            session.flush()
            return TicketView(ticket.id, kind, number, created=True)

        try:
            return self._run(work)
        except ShopUnavailable as exc:
            # Two deliveries of one message raced past the check: the unique wamid kept one ticket.
            if isinstance(exc.__cause__, IntegrityError):
                return self._run(work)
            raise

    def record_csat(self, wa_id: str, score: int, topic: Optional[str], source_wamid: Optional[str]) -> bool:
        """Stores a 1-5 rating once per inbound message; False when this message was counted already."""
        if not 1 <= score <= 5:
            raise ValueError(f"a satisfaction score is 1-5, not {score}")

        def work(session: Session) -> bool:
            if source_wamid and session.execute(
                select(CsatRating.id).where(CsatRating.source_wamid == source_wamid)
            ).first():
                return False
            session.add(CsatRating(wa_id=str(wa_id), score=score, topic=topic, source_wamid=source_wamid))
            return True

        return self._run(work)
