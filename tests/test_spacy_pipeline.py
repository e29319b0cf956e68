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
