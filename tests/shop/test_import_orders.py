"""Loading the business's orders from CSV: every row checked, clear errors by line, all or nothing."""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shop.db import engine_for, session_scope
from shop.models import Order
from shop.service import Shop
from stack.settings import ROOT
from tools.import_orders import main

HEADER = (
    "order_number,wa_id,customer_name,status,placed_at,shipping_address,item,quantity,unit_price,"
    "currency,carrier,tracking_number,eta\n"
)
GOOD = HEADER + (
    '5001,4915112345678,Lena Vogel,shipped,2026-11-20,"Hauptstr. 5, Berlin",Teapot,1,54.00,EUR,DHL,JJD01,2026-11-26\n'
    '5001,4915112345678,Lena Vogel,shipped,2026-11-20,"Hauptstr. 5, Berlin",Cups,2,9.50,EUR,DHL,JJD01,2026-11-26\n'
    "#5002,4915112345678,Lena Vogel,placed,2026-11-23T10:15,\"Hauptstr. 5, Berlin\",Jar,3,7.50,EUR,,,\n"
)


@pytest.fixture
def url(database_url: str) -> str:
    return database_url  # each test runs on SQLite and on PostgreSQL


def count_orders(url: str) -> int:
    with session_scope(engine_for(url, seed=False)) as session:
        return session.execute(select(func.count(Order.id))).scalar_one()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads_orders_items_and_shipments(tmp_path: Path, url: str, capsys):
    assert main([str(write(tmp_path, GOOD)), "--database-url", url]) == 0
    assert "2 order(s) added, 0 replaced" in capsys.readouterr().out
    shop = Shop(engine_for(url, seed=False))
    order = shop.order("4915112345678", "5001")
    assert order.total_cents == 5400 + 2 * 950 and order.currency == "EUR"
    assert (order.carrier, order.tracking_number, str(order.eta)) == ("DHL", "JJD01", "2026-11-26")
    assert shop.order("4915112345678", "5002").status == "placed"
    assert shop.order("15551230001", "5001") is None


def test_loading_again_replaces_instead_of_duplicating(tmp_path: Path, url: str, capsys):
    path = write(tmp_path, GOOD)
    assert main([str(path), "--database-url", url]) == 0
    path.write_text(GOOD.replace("shipped,2026-11-20", "delivered,2026-11-20"))
    assert main([str(path), "--database-url", url]) == 0
    assert "0 order(s) added, 2 replaced" in capsys.readouterr().out
    assert count_orders(url) == 2
    assert Shop(engine_for(url, seed=False)).order("4915112345678", "5001").status == "delivered"


def test_bad_rows_are_reported_by_line_and_nothing_is_loaded(tmp_path: Path, url: str, capsys):
    bad = GOOD + (
        "5003,12ab,Max,paid,2026-11-21,Somewhere 1,Mug,1,5.00,EUR,,,\n"
        "5004,4915112345678,Lena Vogel,lost,2026-11-21,Somewhere 1,Mug,0,5.001,EURO,,,\n"
        "5005,4915112345678,Lena Vogel,shipped,21/11/2026,Somewhere 1,Mug,1,5.00,EUR,,,\n"
        ",4915112345678,,paid,2026-11-21,,Mug,1,5.00,EUR,,,\n"
    )
    assert main([str(write(tmp_path, bad)), "--database-url", url]) == 1
    err = capsys.readouterr().err
    assert "nothing was loaded" in err
    assert "line 5: wa_id '12ab'" in err
    assert "line 6: status 'lost'" in err and "line 6: quantity '0'" in err
    assert "line 6: unit_price '5.001'" in err and "line 6: currency 'EURO'" in err
    assert "line 7: placed_at '21/11/2026'" in err and "line 7: a shipped order needs carrier" in err
    assert "line 8: missing order_number, customer_name, shipping_address" in err
    assert count_orders(url) == 0


def test_rows_of_one_order_must_agree(tmp_path: Path, url: str, capsys):
    text = GOOD.replace("Cups,2,9.50,EUR,DHL,JJD01", "Cups,2,9.50,USD,DHL,JJD01")
    assert main([str(write(tmp_path, text)), "--database-url", url]) == 1
    assert "line 3: order 5001 has a different currency than on line 2" in capsys.readouterr().err
    assert count_orders(url) == 0


def test_an_order_number_of_another_customer_is_refused(tmp_path: Path, url: str, capsys):
    engine_for(url, seed=True)  # demo data: order 1001 belongs to 15551230001
    text = HEADER + "1001,4915112345678,Lena Vogel,paid,2026-11-21,Hauptstr. 5,Mug,1,5.00,EUR,,,\n" + GOOD[len(HEADER):]
    before = count_orders(url)
    assert main([str(write(tmp_path, text)), "--database-url", url]) == 1
    assert "line 2: order 1001 already belongs to another customer" in capsys.readouterr().err
    assert count_orders(url) == before


def test_missing_columns_and_empty_files_are_explained(tmp_path: Path, url: str, capsys):
    assert main([str(write(tmp_path, "order_number,wa_id\n1,2\n")), "--database-url", url]) == 1
    assert "the header lacks the column(s) customer_name, status" in capsys.readouterr().err
    assert main([str(write(tmp_path, HEADER)), "--database-url", url]) == 1
    assert "the file has no order rows" in capsys.readouterr().err
    assert main([str(tmp_path / "nope.csv"), "--database-url", url]) == 2


def test_command_line_entry_point(tmp_path: Path, url: str):
    done = subprocess.run(
        [sys.executable, "-m", "tools.import_orders", str(write(tmp_path, GOOD))],
        cwd=ROOT, env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "2 order(s) added" in done.stdout
