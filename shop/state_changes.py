"""State changes the shop's own systems report (an order shipped, delivered; a refund approved), not a
customer's request: which customer an order belongs to, and recording the new state when asked.

Only forward moves the warehouse and payments make are recorded here; cancelling and address changes stay
the customer's (service.py), with their rules.
"""

from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shop.db import ShopUnavailable, session_scope
from shop.models import ORDER_STATES, REFUND_STATES, Customer, Order
from shop.orders import normalize_order_number


class StateChangeError(ValueError):
    """The order is unknown, or it cannot take that state (e.g. a refund state for an order without a refund)."""


@dataclass(frozen=True)
class StateChange:
    number: str
    wa_id: str
    previous: str  # the state before ("" when only read)
    state: str


class ShopStateChanges:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def owner(self, number: str) -> StateChange:
        """The order's customer and state, unchanged; StateChangeError for an unknown order."""
        return self._run(number, lambda order: StateChange(order.number, order.customer.wa_id, "", order.status))

    def set_order_state(self, number: str, state: str) -> StateChange:
        if state not in ORDER_STATES:
            raise StateChangeError(f"unknown order state {state!r}: one of {', '.join(ORDER_STATES)}")

        def change(order: Order) -> StateChange:
            previous, order.status = order.status, state
            return StateChange(order.number, order.customer.wa_id, previous, state)

        return self._run(number, change)

    def set_refund_state(self, number: str, state: str) -> StateChange:
        """The newest refund of the order takes the state."""
        if state not in REFUND_STATES:
            raise StateChangeError(f"unknown refund state {state!r}: one of {', '.join(REFUND_STATES)}")

        def change(order: Order) -> StateChange:
            if not order.refunds:
                raise StateChangeError(f"order {order.number} has no refund request")
            refund = order.refunds[-1]
            previous, refund.status = refund.status, state
            return StateChange(order.number, order.customer.wa_id, previous, state)

        return self._run(number, change)

    def _run(self, number: str, work) -> StateChange:  # type: ignore[no-untyped-def]
        normalized = normalize_order_number(number)
        if normalized is None:
            raise StateChangeError(f"{number!r} is not an order number")
        try:
            with session_scope(self.engine) as session:
                order = _order(session, normalized)
                if order is None:
                    raise StateChangeError(f"no order {normalized}")
                return work(order)
        except SQLAlchemyError as exc:
            raise ShopUnavailable(str(exc)) from exc


def _order(session: Session, number: str) -> Optional[Order]:
    return session.execute(select(Order).join(Customer).where(Order.number == number)).scalar_one_or_none()
