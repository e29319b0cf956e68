"""Order events from the shop's systems: the customer hears of an order shipped, delivered, or a refund approved.

The shop calls `POST /api/order-events` (or `python -m tools.order_events`); this module records the new state
in the order database when asked (shop/state_changes.py), then makes the bot speak through its one path:
Rasa's `EXTERNAL_order_update` / `EXTERNAL_refund_update` (`notify`, Rasa's HTTP API), whose actions read
the order and whose responses go out through the outbound governor. The messaging policy decides there:
free-form inside the customer's service window, the `order_update` / `refund_update` utility template
outside it, only with the customer's utility opt-in (else it waits, as every template does).

Each (order, state, event id) is handled once: a key reserved before anything else makes a repeated event send
nothing; a failure before the bot was reached releases it, so the shop's retry sends the update.
"""

from dataclasses import asdict, dataclass
from typing import Callable, Dict, Optional

import redis

from campaigns import keys
from shop.state_changes import ShopStateChanges, StateChange

ORDER_INTENT = "EXTERNAL_order_update"
REFUND_INTENT = "EXTERNAL_refund_update"
ORDER_EVENTS = ("shipped", "out_for_delivery", "delivered", "returned")  # states a customer is told about
REFUND_EVENTS = {"refund_approved": "approved", "refund_paid": "paid", "refund_rejected": "rejected"}
EVENTS = (*ORDER_EVENTS, *REFUND_EVENTS)
KEY_SECONDS = 30 * 86400  # a repeat of the same event is recognised this long
SENT = "sent"

Notify = Callable[[str, str, Dict[str, str]], None]  # (wa_id, intent, entities); raises when the bot was not reached


class InvalidOrderEvent(ValueError):
    """An event this platform does not know; the message lists the known ones."""


@dataclass(frozen=True)
class Handled:
    order_id: str
    state: str
    wa_id: str
    previous: str  # the state before, when the database was updated
    notified: bool  # False: a repeat, nothing sent
    duplicate: bool


class OrderEvents:
    def __init__(self, store: redis.Redis, shop: ShopStateChanges, notify: Notify) -> None:
        self.store = store
        self.shop = shop
        self.notify = notify

    def handle(self, order_id: str, state: str, update_shop: bool = False, event_id: str = "") -> Dict[str, object]:
        """Record (if `update_shop`) and tell the customer, once per (order, state, event id)."""
        if state not in EVENTS:
            raise InvalidOrderEvent(f"unknown event {state!r}: one of {', '.join(EVENTS)}")
        number = self.shop.owner(order_id).number  # StateChangeError for an unknown order, before any key
        key = keys.order_event(number, state, event_id)
        if not self.store.set(key, "pending", nx=True, ex=KEY_SECONDS):
            owner = self.shop.owner(number)
            return asdict(Handled(number, state, owner.wa_id, "", notified=False, duplicate=True))
        try:
            change = self._record(number, state) if update_shop else self.shop.owner(number)
            intent = REFUND_INTENT if state in REFUND_EVENTS else ORDER_INTENT
            self.notify(change.wa_id, intent, {"order_id": change.number})
        except BaseException:
            self.store.delete(key)  # nothing reached the customer: the shop's retry may send it
            raise
        self.store.set(key, SENT, xx=True, keepttl=True)
        return asdict(Handled(change.number, state, change.wa_id, change.previous if update_shop else "",
                              notified=True, duplicate=False))

    def _record(self, number: str, state: str) -> StateChange:
        refund_state: Optional[str] = REFUND_EVENTS.get(state)
        if refund_state:
            return self.shop.set_refund_state(number, refund_state)
        return self.shop.set_order_state(number, state)
