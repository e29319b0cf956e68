"""Tables of the order database: customers (keyed by WhatsApp number), orders, line items,
shipments, refunds, invoices, change requests, tickets and satisfaction ratings."""

from datetime import date, datetime, timezone

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

# Order lifecycle, in order. Everything before "shipped" can still be changed or cancelled.
ORDER_STATES = (
    "placed",
    "paid",
    "packed",
    "shipped",
    "out_for_delivery",
    "delivered",
    "cancelled",
    "returned",
)
CHANGEABLE_STATES = ("placed", "paid", "packed")
REFUND_STATES = ("requested", "approved", "paid", "rejected")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    wa_id = Column(String(20), nullable=False, unique=True)  # WhatsApp number, digits only
    name = Column(String(200), nullable=False)
    email = Column(String(200))
    created_at = Column(DateTime, nullable=False, default=utcnow)

    orders = relationship("Order", back_populates="customer", order_by="Order.placed_at.desc()")


class Order(Base):
    __tablename__ = "orders"

    id = Column(Integer, primary_key=True)
    number = Column(String(40), nullable=False, unique=True)  # normalised: "1001", "A-10023"
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    status = Column(String(20), nullable=False)
    currency = Column(String(3), nullable=False, default="USD")
    shipping_address = Column(Text, nullable=False)
    placed_at = Column(DateTime, nullable=False, default=utcnow)
    paid_at = Column(DateTime)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    customer = relationship("Customer", back_populates="orders")
    items = relationship("OrderItem", back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id")
    shipment = relationship("Shipment", back_populates="order", uselist=False, cascade="all, delete-orphan")
    refunds = relationship("Refund", back_populates="order", cascade="all, delete-orphan", order_by="Refund.id")
    invoice = relationship("Invoice", back_populates="order", uselist=False, cascade="all, delete-orphan")

    @property
    def total_cents(self) -> int:
        return sum(item.quantity * item.unit_price_cents for item in self.items)


class OrderItem(Base):
    __tablename__ = "order_items"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    description = Column(String(200), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_price_cents = Column(Integer, nullable=False)

    order = relationship("Order", back_populates="items")


class Shipment(Base):
    __tablename__ = "shipments"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, unique=True)
    carrier = Column(String(60), nullable=False)
    tracking_number = Column(String(80), nullable=False)
    eta = Column(Date)
    shipped_at = Column(DateTime)
    delivered_at = Column(DateTime)

    order = relationship("Order", back_populates="shipment")


class Refund(Base):
    __tablename__ = "refunds"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    status = Column(String(20), nullable=False, default="requested")
    amount_cents = Column(Integer, nullable=False)
    reason = Column(Text)
    requested_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    order = relationship("Order", back_populates="refunds")


class Invoice(Base):
    __tablename__ = "invoices"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, unique=True)
    number = Column(String(40), nullable=False, unique=True)
    issued_on = Column(Date, nullable=False, default=date.today)

    order = relationship("Order", back_populates="invoice")


class ChangeRequest(Base):
    """A change the customer asked for that staff carry out (items, delivery day)."""

    __tablename__ = "change_requests"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    details = Column(Text, nullable=False)
    delivery_date = Column(Date)
    source_wamid = Column(String(200), unique=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Ticket(Base):
    """A case for the team: a complaint, or an escalation the handoff service could not take."""

    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    wa_id = Column(String(20), nullable=False, index=True)
    kind = Column(String(20), nullable=False)  # complaint | handoff
    status = Column(String(20), nullable=False, default="open")  # open | closed
    order_number = Column(String(40))
    summary = Column(Text, nullable=False, default="")
    source_wamid = Column(String(200), unique=True)  # the inbound message that opened it
    external_ref = Column(String(100))  # the handoff service's chat id, once it has one
    created_at = Column(DateTime, nullable=False, default=utcnow)


class CsatRating(Base):
    __tablename__ = "csat_ratings"
    __table_args__ = (UniqueConstraint("source_wamid"),)

    id = Column(Integer, primary_key=True)
    wa_id = Column(String(20), nullable=False, index=True)
    score = Column(Integer, nullable=False)  # 1-5
    topic = Column(String(60))
    source_wamid = Column(String(200))
    created_at = Column(DateTime, nullable=False, default=utcnow)
