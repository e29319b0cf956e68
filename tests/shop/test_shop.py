"""The order database on real SQLite files and a real PostgreSQL server: lookups scoped to the customer,
the state rules, idempotent refunds, tickets and ratings, demo data, and an unusable database."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from shop.db import ShopUnavailable, engine_for, session_scope
from shop.models import ORDER_STATES, REFUND_STATES, Order, Refund, Ticket
from shop.orders import normalize_order_number
from shop.seed import seed_demo_data
from shop.service import Shop
from tests.support.helpers import free_port

SAM, ANA, OMAR = "15551230001", "15551230002", "15551230003"


@pytest.fixture
def free_tcp_port() -> int:
    return free_port()  # nothing listens there


@pytest.fixture
def shop(database_url: str) -> Shop:
    return Shop(engine_for(database_url))  # each test runs on SQLite and on PostgreSQL


@pytest.mark.parametrize(
    "text, expected",
    [("1001", "1001"), ("#1002", "1002"), (" A-10023 ", "A-10023"), ("a-10023", "A-10023"),
     ("order 1003", "1003"), ("12", None), ("hello", None), ("", None), (None, None)],
)
def test_order_numbers_are_normalised(text, expected):
    assert normalize_order_number(text) == expected


def test_demo_data_covers_every_order_and_refund_state(shop: Shop):
    with session_scope(shop.engine) as session:
        states = set(session.execute(select(Order.status)).scalars())
        refund_states = set(session.execute(select(Refund.status)).scalars())
    assert states == set(ORDER_STATES)
    assert refund_states == set(REFUND_STATES)


def test_seeding_twice_adds_nothing(shop: Shop):
    with session_scope(shop.engine) as session:
        before = session.execute(select(func.count(Order.id))).scalar_one()
        assert seed_demo_data(session) == 0
        assert session.execute(select(func.count(Order.id))).scalar_one() == before


def test_an_order_of_another_customer_is_like_an_unknown_one(shop: Shop):
    assert shop.order(SAM, "#1001").number == "1001"
    assert shop.order(ANA, "1001") is None
    assert shop.order(ANA, "9999") is None
    assert shop.cancel(ANA, "1002").result == shop.cancel(ANA, "9999").result == "not_found"
    assert shop.request_refund(ANA, "1003").result == "not_found"
    assert shop.invoice(ANA, "1001").result == "not_found"
    assert shop.refunds(ANA, "1009") == []


def test_shipped_order_carries_carrier_tracking_and_eta(shop: Shop):
    order = shop.order(SAM, "1001")
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "UPS", "1Z999AA10123456784")
    assert order.eta is not None
    assert order.total_cents == 2 * 1250 + 3900


def test_orders_are_newest_first_and_filtered_by_state(shop: Shop):
    numbers = [o.number for o in shop.orders(SAM)]
    assert numbers == ["1002", "1001", "A-10023", "1003"]
    assert [o.number for o in shop.orders(SAM, states=("paid", "packed"))] == ["1002"]


def test_cancel_before_shipping_refunds_a_paid_order_once(shop: Shop):
    first = shop.cancel(SAM, "1002")
    assert first.result == "cancelled"
    assert first.refund.status == "approved" and first.refund.amount_cents == 2700
    again = shop.cancel(SAM, "1002")
    assert again.result == "already_cancelled"
    assert len(shop.refunds(SAM, "1002")) == 1


def test_a_shipped_order_cannot_be_cancelled_or_changed(shop: Shop):
    assert shop.cancel(SAM, "1001").result == "too_late"
    assert shop.order(SAM, "1001").status == "shipped"
    assert shop.change_address(SAM, "A-10023", "1 New Road, Town, 12345").result == "too_late"
    assert shop.request_change(SAM, "1003", "bigger size", None, "wamid.a").result == "too_late"


def test_address_change_before_shipping(shop: Shop):
    assert shop.change_address(ANA, "1004", "  7 Rua Nova, Porto, 4000-001 ").result == "changed"
    assert shop.order(ANA, "1004").shipping_address == "7 Rua Nova, Porto, 4000-001"


def test_refund_is_requested_once_per_order(shop: Shop):
    first = shop.request_refund(SAM, "1003", "broken lid")
    assert first.result == "requested" and first.refund.status == "requested"
    second = shop.request_refund(SAM, "1003", "broken lid")
    assert second.result == "exists"
    assert len(shop.refunds(SAM, "1003")) == 1


@pytest.mark.parametrize(
    "wa_id, number, result",
    [(SAM, "1002", "cancel_instead"), (SAM, "1001", "not_yet"), (OMAR, "1005", "not_paid"),
     (OMAR, "1008", "exists")],
)
def test_refund_answers_by_state(shop: Shop, wa_id, number, result):
    assert shop.request_refund(wa_id, number).result == result


def test_invoice_only_for_paid_orders(shop: Shop):
    assert shop.invoice(OMAR, "1005").result == "not_paid"
    ready = shop.invoice(SAM, "1001")
    assert ready.result == "ready" and ready.order.invoice_number == "INV-" + f"{ready.order.placed_at:%Y}-1001"


def test_complaint_ticket_opens_once_per_message_and_per_open_case(shop: Shop):
    first = shop.open_ticket(SAM, "complaint", "mug arrived broken", "wamid.1", "1001")
    retried = shop.open_ticket(SAM, "complaint", "mug arrived broken", "wamid.1", "1001")
    repeated = shop.open_ticket(SAM, "complaint", "still broken!!", "wamid.2", "#1001")
    other_order = shop.open_ticket(SAM, "complaint", "late", "wamid.3", "A-10023")
    assert first.created and not retried.created and not repeated.created
    assert first.id == retried.id == repeated.id
    assert other_order.created and other_order.id != first.id
    with session_scope(shop.engine) as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 2


def test_csat_is_stored_once_per_message_and_checked(shop: Shop):
    assert shop.record_csat(SAM, 5, "cancel_order", "wamid.9") is True
    assert shop.record_csat(SAM, 5, "cancel_order", "wamid.9") is False
    with pytest.raises(ValueError):
        shop.record_csat(SAM, 6, None, "wamid.10")


def test_a_broken_database_file_is_reported_not_crashed(tmp_path: Path):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ShopUnavailable):
        engine_for(f"sqlite:///{broken}")


def test_an_unreachable_database_server_is_reported(free_tcp_port: int):
    with pytest.raises(ShopUnavailable) as failure:
        engine_for(f"postgresql://shop:secret@127.0.0.1:{free_tcp_port}/shop")
    assert "secret" not in str(failure.value)


def test_a_database_path_that_cannot_be_created_is_reported(tmp_path: Path):
    (tmp_path / "blocker").write_text("a file where a directory should be")
    with pytest.raises(ShopUnavailable):
        engine_for(f"sqlite:///{tmp_path / 'blocker' / 'shop.db'}")


def test_the_database_failing_after_start_is_reported(tmp_path: Path):
    path = tmp_path / "shop.db"
    shop = Shop(engine_for(f"sqlite:///{path}"))
    shop.engine.dispose()
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(ShopUnavailable):
        shop.orders(SAM)



def test_an_engine_first_made_without_demo_data_gets_it_when_asked(tmp_path: Path):
    # The handoff service opens the database unseeded (ratings, privacy) before its order events ask for it
    # seeded: the second call used to return the cached, empty database.
    url = f"sqlite:///{tmp_path / 'later.db'}"
    engine_for(url, seed=False)
    with session_scope(engine_for(url, seed=False)) as session:
        assert session.execute(select(func.count(Order.id))).scalar_one() == 0
    with session_scope(engine_for(url)) as session:
        assert session.execute(select(Order.number).where(Order.number == "A-10023")).scalar_one() == "A-10023"
