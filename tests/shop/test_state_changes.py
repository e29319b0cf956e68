"""State changes the shop's systems report: recorded on the right order or refund, refused clearly otherwise."""

from pathlib import Path

import pytest

from shop.db import engine_for
from shop.service import Shop
from shop.state_changes import ShopStateChanges, StateChangeError


@pytest.fixture()
def changes(tmp_path: Path) -> ShopStateChanges:
    return ShopStateChanges(engine_for(f"sqlite:///{tmp_path / 'shop.db'}"))


def test_an_order_and_its_newest_refund_take_the_reported_state(changes: ShopStateChanges):
    assert changes.owner("#a-10023").wa_id == "15551230001"
    moved = changes.set_order_state("A-10023", "delivered")
    assert (moved.number, moved.previous, moved.state) == ("A-10023", "out_for_delivery", "delivered")
    shop = Shop(changes.engine)
    assert shop.order("15551230001", "A-10023").status == "delivered"
    refund = changes.set_refund_state("1009", "approved")
    assert (refund.wa_id, refund.previous, refund.state) == ("15551230003", "requested", "approved")
    assert [r.status for r in shop.refunds("15551230003", "1009")] == ["approved"]


@pytest.mark.parametrize("call, says", [
    (lambda c: c.owner("9999"), "no order 9999"),
    (lambda c: c.owner("hello"), "is not an order number"),
    (lambda c: c.set_order_state("1001", "lost"), "unknown order state 'lost'"),
    (lambda c: c.set_refund_state("1001", "approved"), "order 1001 has no refund request"),
])
def test_what_cannot_be_recorded_is_refused_and_changes_nothing(changes: ShopStateChanges, call, says):
    with pytest.raises(StateChangeError, match=says):
        call(changes)
    assert changes.owner("1001").state == "shipped"
