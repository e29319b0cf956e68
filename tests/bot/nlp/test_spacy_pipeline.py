import subprocess
import sys
from pathlib import Path

import pytest
import spacy

from bot.nlp.spacy_pipeline import build
from stack.settings import ROOT


@pytest.mark.parametrize(
    "text, expected",
    [
        ("where is my order #1002?", [("#1002", "order_id")]),
        ("track A-10023 pls", [("A-10023", "order_id")]),
        ("order 1001?", [("1001", "order_id")]),
        ("mail me at ana.lima@example.com", [("ana.lima@example.com", "email")]),
        ("call +1 555 123 4567", [("+1 555 123 4567", "phone")]),
        ("+15551234567 or 555-123-4567", [("+15551234567", "phone"), ("555-123-4567", "phone")]),
        ("hello there", []),
    ],
)
def test_entities_are_found_in_customer_text(text: str, expected: list) -> None:
    assert [(e.text, e.label_) for e in build()(text).ents] == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1001", "1001"),
        ("is #1002 shipped", "#1002"),
        ("cancel order 1003", "1003"),
        ("A-10023 please", "A-10023"),
        ("status of ord-1004?", "ord-1004"),
        ("ORD1005", "ORD1005"),
        ("invoice for b-200311", "b-200311"),
    ],
)
def test_order_numbers_in_every_format(text: str, expected: str) -> None:
    assert [(e.text, e.label_) for e in build()(text).ents] == [(expected, "order_id")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("can it come today", "today"),
        ("Tomorrow please", "Tomorrow"),
        ("i returned it yesterday", "yesterday"),
        ("deliver on friday", "friday"),
        ("see you Next Monday", "Next Monday"),
        ("last tuesday it said shipped", "last tuesday"),
        ("next fri?", "next fri"),
        ("or maybe next week", "next week"),
        ("the day after tomorrow", "the day after tomorrow"),
        ("within in 3 days", "in 3 days"),
        ("sent on 12/03", "12/03"),
        ("sent on 12/03/2026", "12/03/2026"),
        ("paid 3.3.2026", "3.3.2026"),
        ("ordered 2026-03-12", "2026-03-12"),
        ("ordered 12-03-2026", "12-03-2026"),
        ("ordered 2026/03/12", "2026/03/12"),
        ("arrives March 3rd", "March 3rd"),
        ("arrives on Mar 3, 2026", "Mar 3, 2026"),
        ("arrives 3 March 2026", "3 March 2026"),
        ("by the 21st of june", "the 21st of june"),
        ("around 14 feb", "14 feb"),
        ("on may 5th", "may 5th"),
    ],
)
def test_dates_in_common_forms(text: str, expected: str) -> None:
    assert [(e.text, e.label_) for e in build()(text).ents] == [(expected, "date")]


@pytest.mark.parametrize(
    "text",
    ["may i cancel", "it costs 9.95", "i sat down", "march on", "the 3rd one", "32/13", "mon ami"],
)
def test_ordinary_words_and_numbers_are_not_dates(text: str) -> None:
    assert [e.text for e in build()(text).ents if e.label_ == "date"] == []


def test_a_message_with_every_entity() -> None:
    doc = build()("order #1002 from 12/03 never came, call +1 555 123 4567 or ana@example.com")
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("#1002", "order_id"), ("12/03", "date"), ("+1 555 123 4567", "phone"), ("ana@example.com", "email")
    ]


def test_a_date_with_a_year_is_not_an_order_number() -> None:
    assert [(e.text, e.label_) for e in build()("3 March 2026 and 2026-03-12").ents] == [
        ("3 March 2026", "date"), ("2026-03-12", "date")
    ]


def test_pipeline_round_trips_through_disk_as_rasa_loads_it(tmp_path: Path) -> None:
    build().to_disk(tmp_path / "spacy-en")
    loaded = spacy.load(tmp_path / "spacy-en")
    assert [(e.text, e.label_) for e in loaded("order 1001").ents] == [("1001", "order_id")]


def test_the_build_command_creates_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "models" / "spacy-en"
    result = subprocess.run([sys.executable, "-m", "bot.nlp.spacy_pipeline", str(target)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [(e.text, e.label_) for e in spacy.load(target)("order 1001").ents] == [("1001", "order_id")]
