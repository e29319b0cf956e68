"""The NLU training data and the held-out test set: sizes per intent, faq answers, no leakage.

Pure YAML reading; `make eval` trains and measures.
"""

from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List

import pytest
import yaml

from bot.nlp import variants
from bot.nlp.variants import normalise
from stack.settings import ROOT

TRAINING_DATA = ROOT / "bot" / "data"
HOLDOUT = ROOT / "tests" / "nlu" / "holdout.yml"
# Written apart from the training data, in customers' own voices (make eval).
CUSTOMERS = ROOT / "tests" / "nlu" / "customers.yml"
FAQ_CUSTOMERS = ROOT / "tests" / "nlu" / "faq_customers.yml"
OUT_OF_SCOPE_FILES = [ROOT / "tests" / "nlu" / name for name in ("out_of_scope.yml", "out_of_scope_customers.yml")]

CUSTOMER_INTENTS = [
    "greet", "goodbye", "thank_you", "affirm", "deny", "bot_challenge", "order_status", "cancel_order",
    "change_order", "get_refund", "track_refund", "refund_policy", "delivery_period", "delivery_options",
    "change_shipping_address", "payment_issue", "payment_methods", "get_invoice", "complaint",
    "human_handoff", "opt_out", "opt_in", "request_data_erasure", "request_data_copy", "out_of_scope",
]
# Only an order number ("1002", "#1002 please"): decided by a rule in the NLU pipeline
# (bot/nlp/typed_replies.py), so it needs held-out examples but no training data.
RULE_INTENTS = ["choose_order"]
RETRIEVAL_INTENT = "faq"
# Never typed (rating buttons, the WhatsApp channel, other services): one placeholder example each
# at the end of bot/data/rules.yml, because `rasa data validate` wants an example for every intent.
UNTYPED_INTENTS = [
    "csat", "media_received", "share_location", "share_contact", "place_order", "unsupported_message",
    "EXTERNAL_handoff_resolved", "EXTERNAL_order_update", "EXTERNAL_refund_update", "other_language",
]
OUT_OF_SCOPE = "out_of_scope"

Examples = Dict[str, List[str]]


def read_examples(files: Iterable[Path]) -> Examples:
    """Examples per intent, as written ("faq/warranty" keeps its sub-intent)."""
    examples: Examples = defaultdict(list)
    for path in files:
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
            if "intent" in block:
                lines = block["examples"].splitlines()
                examples[block["intent"]] += [line.strip()[2:] for line in lines if line.strip().startswith("- ")]
    return examples


def by_base_intent(examples: Examples) -> Examples:
    merged: Examples = defaultdict(list)
    for intent, texts in examples.items():
        merged[intent.split("/")[0]] += texts
    return merged


@pytest.fixture(scope="module")
def training() -> Examples:
    return read_examples(sorted(TRAINING_DATA.rglob("*.yml")))


@pytest.fixture(scope="module")
def holdout() -> Examples:
    return read_examples([HOLDOUT])


@pytest.fixture(scope="module")
def customers() -> Examples:
    return read_examples([CUSTOMERS])


@pytest.fixture(scope="module")
def out_of_scope() -> List[str]:
    examples = read_examples(OUT_OF_SCOPE_FILES)
    assert set(examples) == {OUT_OF_SCOPE}
    return examples[OUT_OF_SCOPE]


@pytest.fixture(scope="module")
def faq_responses() -> Dict[str, list]:
    return yaml.safe_load((TRAINING_DATA / "faq.yml").read_text())["responses"]


def test_every_customer_intent_is_in_the_domain() -> None:
    domain_intents = yaml.safe_load((ROOT / "domain.yml").read_text())["intents"]
    assert set(CUSTOMER_INTENTS + [RETRIEVAL_INTENT]) <= set(domain_intents)


@pytest.mark.parametrize("intent", CUSTOMER_INTENTS)
def test_each_intent_has_at_least_40_training_examples(training: Examples, intent: str) -> None:
    assert len(training[intent]) >= 40


@pytest.mark.parametrize("intent", [i for i in CUSTOMER_INTENTS if i != OUT_OF_SCOPE] + RULE_INTENTS)
def test_each_intent_has_at_least_15_held_out_examples(holdout: Examples, intent: str) -> None:
    assert len(holdout[intent]) >= 15


def test_customer_messages_cover_the_shop_intents(customers: Examples) -> None:
    assert len(customers) >= 16 and set(customers) < set(CUSTOMER_INTENTS)
    assert all(len(examples) >= 6 for examples in customers.values())
    assert sum(map(len, customers.values())) >= 250


def test_out_of_scope_intent_has_several_hundred_examples(training: Examples) -> None:
    assert len(training[OUT_OF_SCOPE]) >= 300


def test_generated_variants_are_up_to_date_with_the_phrasebook(tmp_path: Path) -> None:
    target = tmp_path / "variants.yml"
    for path in (TRAINING_DATA / "nlu").glob("*.yml"):  # the hand-written examples it must not repeat
        if path.name != "variants.yml":
            (tmp_path / path.name).write_text(path.read_text())
    variants.main([str(variants.PHRASEBOOK), str(target)])
    assert target.read_text() == (TRAINING_DATA / "nlu" / "variants.yml").read_text(), "run make nlu-variants"


def test_only_known_intents_are_trained(training: Examples) -> None:
    assert set(by_base_intent(training)) == set(CUSTOMER_INTENTS + [RETRIEVAL_INTENT] + UNTYPED_INTENTS + RULE_INTENTS)


def test_faq_has_at_least_6_questions_of_15_examples_each_and_an_answer_for_each(
    training: Examples, faq_responses: Dict[str, list]
) -> None:
    questions = {intent for intent in training if intent.startswith(f"{RETRIEVAL_INTENT}/")}
    assert len(questions) >= 6
    assert all(len(training[question]) >= 15 for question in questions)
    assert {f"utter_{question}" for question in questions} == set(faq_responses)
    assert all(response and response[0]["text"].strip() for response in faq_responses.values())


def test_holdout_covers_faq_with_known_intents_only(training: Examples, holdout: Examples) -> None:
    assert len(by_base_intent(holdout)[RETRIEVAL_INTENT]) >= 15
    assert set(holdout) <= set(training)


def test_there_are_enough_out_of_scope_messages(out_of_scope: List[str]) -> None:
    assert len(out_of_scope) >= 400


def test_no_training_example_is_repeated(training: Examples) -> None:
    texts = [normalise(text) for examples in training.values() for text in examples]
    repeated = sorted({text for text in texts if texts.count(text) > 1})
    assert repeated == []


def test_held_out_messages_share_no_example_with_training_data(
    training: Examples, holdout: Examples, customers: Examples, out_of_scope: List[str]
) -> None:
    trained = {normalise(text) for examples in training.values() for text in examples}
    faq = read_examples([FAQ_CUSTOMERS])
    held_out = [text for examples in [*holdout.values(), *customers.values(), *faq.values()]
                for text in examples] + out_of_scope
    assert sorted(text for text in held_out if normalise(text) in trained) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Where is my order #1001?!", "where is my order 1001"),
        ("  Invoice   PLS ", "invoice pls"),
        ("what's up", "what s up"),
        ("track [A-10023](order_id) now", "track a 10023 now"),
    ],
)
def test_normalise_ignores_case_punctuation_spacing_and_entity_markup(text: str, expected: str) -> None:
    assert normalise(text) == expected

