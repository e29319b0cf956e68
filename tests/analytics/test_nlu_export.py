"""The designers' export: Rasa NLU YAML that Rasa's own reader accepts, with no phone number in it; the
messages grouped by the intent they most resemble; the intents offered are those with training examples."""

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from shutil import copytree

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from analytics.nlu_export import grouped, training_file, training_intents, without_numbers
from analytics.nlu_results import result_of
from stack.settings import ROOT
from tests.support.nlu_review import CUSTOMER, TURNS, events

TEXTS = ["my parcel came wet, call me on +49 151 1234 5678", "ring me at (650) 555-0199 or 0151-2345678",
         "order 1002 arrived on 2026-11-02 at 10:00", "my number is 4915112345678\nand my friend's +1 202 555 0100",
         "is [this](order_id) a trick?", "my parcel came wet, call me on +49 151 1234 5678"]  # the first again


@pytest.mark.parametrize(("text", "expected"), [
    ("call +49 151 1234 5678 now", "call <phone> now"),
    ("(650) 555-0199.", "<phone>."),
    ("4915112345678", "<phone>"),
    ("order 1002, A-10023, #1004 and ord-1005", "order 1002, A-10023, #1004 and ord-1005"),  # order numbers stay
    ("on 2026-11-02 at 10:00", "on 2026-11-02 at 10:00"),
])
def test_phone_numbers_are_taken_out_and_order_numbers_and_dates_stay(text: str, expected: str) -> None:
    assert without_numbers(text) == expected


def test_the_export_is_nlu_yaml_that_rasa_reads_with_no_number_in_it(tmp_path: Path) -> None:
    exported = training_file("complaint", TEXTS, now=datetime(2026, 11, 3, tzinfo=timezone.utc))
    path = tmp_path / "candidates.yml"
    path.write_text(exported)
    data = load_data(str(path))
    examples = [m.get("text") for m in data.intent_examples]
    assert {m.get("intent") for m in data.intent_examples} == {"complaint"}
    assert examples == ["my parcel came wet, call me on <phone>", "ring me at <phone> or <phone>",
                        "order 1002 arrived on 2026-11-02 at 10:00", "my number is <phone> and my friend's <phone>",
                        "is (this)(order_id) a trick?"]
    assert not any(m.get("entities") for m in data.intent_examples)  # a customer's brackets annotate nothing
    digits = "".join(c for c in exported if c.isdigit() or c == "\n")
    for number in ("4915112345678", "491511234", "6505550199", "12025550100", "01512345678"):
        assert number not in digits.replace("\n", "")


def test_messages_are_grouped_by_the_intent_they_most_resemble_without_numbers() -> None:
    kept = [result_of(events(n), wamid) for n, (wamid, *_rest) in enumerate(TURNS)]
    shown = [{"wamid": r.wamid, "text": r.text, "resembles": r.resembles, "before": r.before, "after": r.after}
             for r in kept if r.for_review(0.7)]
    groups = grouped(shown)
    assert [(g["intent"], [m["wamid"] for m in g["messages"]]) for g in groups] == [
        ("complaint", ["wamid.review2", "wamid.review3"]), ("get_refund", ["wamid.review4"]),
        ("order_status", ["wamid.review5"])]
    assert groups[0]["messages"][0]["text"] == "my parcel came wet, call me on <phone>"
    assert groups[0]["messages"][1]["before"][-2]["text"] == "my parcel came wet, call me on <phone>"
    assert CUSTOMER not in repr(groups)


def test_the_intents_offered_are_the_domains_trained_ones() -> None:
    intents = training_intents(ROOT / "domain.yml", ROOT / "bot" / "data" / "nlu")
    assert {"complaint", "order_status", "get_refund", "out_of_scope"} <= set(intents)
    assert not {"faq", "media_received", "EXTERNAL_order_update", "nlu_fallback"} & set(intents)


@pytest.mark.proof
def test_rasa_data_validate_accepts_the_export_next_to_the_bots_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    copytree(ROOT / "bot" / "data", data)
    (data / "nlu" / "candidates.yml").write_text(training_file("complaint", TEXTS[:3]))
    rasa = str(Path(sys.executable).parent / "rasa")
    done = subprocess.run([rasa, "data", "validate", "--fail-on-warnings", "--data", str(data),
                           "--domain", str(ROOT / "domain.yml"), "--config", str(ROOT / "config.yml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
