"""A small `make eval` inside `make test`: the trained model on a sample of every held-out set.

The full evaluation (bot/nlp/evaluate.py, `make eval`) takes minutes; this samples every fourth
customer message, its typo copy and every eighth out-of-scope message, and holds the model to
floors below the targets, so that a broken component or a lost training file shows, not noise.
"""

import asyncio
from pathlib import Path

import pytest

from bot.nlp.evaluate import NLU_DIR, caught_share, in_scope_summary, parse_all, read_messages, with_typos

MODEL = Path("models/current.tar.gz")


@pytest.fixture(scope="module")
def parsed():
    if not MODEL.is_file():
        pytest.fail("models/current.tar.gz is missing: make test trains it first")
    customers = read_messages(NLU_DIR / "customers.yml")[::4]
    out_of_scope = (read_messages(NLU_DIR / "out_of_scope.yml")
                    + read_messages(NLU_DIR / "out_of_scope_customers.yml"))[::8]
    sets = {"customers": customers, "typos": with_typos(customers), "out_of_scope": out_of_scope}
    flat = [m for messages in sets.values() for m in messages]
    results = asyncio.run(parse_all(MODEL, flat))
    split, start = {}, 0
    for name, messages in sets.items():
        split[name] = results[start:start + len(messages)]
        start += len(messages)
    return split


def test_customers_own_phrasing_is_understood(parsed) -> None:
    summary = in_scope_summary(parsed["customers"])
    assert summary["accuracy"] >= 0.85, summary["confusions"]
    assert summary["falling_back"] <= 0.1


def test_typing_slips_are_understood(parsed) -> None:
    assert in_scope_summary(parsed["typos"])["accuracy"] >= 0.75


def test_requests_the_shop_does_not_serve_are_caught(parsed) -> None:
    assert caught_share(parsed["out_of_scope"]) >= 0.75
