"""How well the trained model understands customers: `make eval`.

    python -m bot.nlp.evaluate models/current.tar.gz [--out results/eval]

Every message is parsed as the bot parses it (the FallbackClassifier included, which `rasa test
nlu` undoes), from four held-out files that are never trained on:
- holdout: tests/nlu/holdout.yml, written in the style of the training data;
- customers (a): tests/nlu/customers.yml, written apart from it (long, slang, indirect);
- typos (b): the same messages with keyboard slips and swapped or dropped letters (nlpaug, a
  seed of its own, other settings than the training variants);
- out of scope (c): tests/nlu/out_of_scope.yml and tests/nlu/out_of_scope_customers.yml;
- FAQ answers (e): the frequent questions of the holdout and tests/nlu/faq_customers.yml, for which
  the answer (`faq/opening_hours`, ...) counts: right when the intent is `faq` and the FAQ selector
  chose that answer.
For the in-scope sets: macro-F1 and accuracy over the intents (a message sent to `nlu_fallback`
or `out_of_scope` counts as wrong) and the share that falls back; for (c) the share caught
(`out_of_scope` or `nlu_fallback`). Then per-intent F1 and the most frequent confusions (d), and
what other fallback thresholds would give. Fails (exit 1) when a target is missed.
"""

import argparse
import asyncio
import json
import logging
import random
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
# A message in a language the bot does not speak goes to a person: handled, for a request it cannot serve.
NOT_SERVED = (FALLBACK, OUT_OF_SCOPE, "other_language")
NLU_DIR = Path("tests/nlu")
TARGETS = {"customers_f1": 0.95, "typos_f1": 0.92, "caught": 0.85, "customers_fallback": 0.05, "faq_answers": 0.9}
# Sets scored apart from the intents' F1.
APART = ("out_of_scope", "faq answers (e)")
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
TYPO_SEED = 2026


@dataclass(frozen=True)
class Parsed:
    text: str
    expected: str
    predicted: str
    top_intent: str
    top_confidence: float
    answer: str = ""  # the FAQ answer selected (`faq/opening_hours`), whatever the intent


def read_messages(path: Path) -> List[Tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [(example.get("text"), example.get("intent")) for example in load_data(str(path)).intent_examples]


def read_answers(path: Path) -> List[Tuple[str, str]]:
    """The messages of a retrieval intent, each with the answer it needs (`faq/opening_hours`)."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [(example.get("text"), example.get_full_intent()) for example in load_data(str(path)).intent_examples
            if "/" in example.get_full_intent()]


def with_typos(messages: Sequence[Tuple[str, str]], seed: int = TYPO_SEED) -> List[Tuple[str, str]]:
    """Each message with slips in more words than the training variants have: a neighbouring key,
    two letters swapped, or one dropped (nlpaug, a seed of its own)."""
    from bot.nlp.variants import Typos

    typos = Typos(seed, word_share=0.3, words=2)
    rng = random.Random(seed)
    return [(typos(text, rng), intent) for text, intent in messages]


async def parse_all(model: Path, messages: Sequence[Tuple[str, str]]) -> List[Parsed]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    parsed = []
    for text, expected in messages:
        result = await agent.parse_message(text)
        ranking = [entry for entry in result.get("intent_ranking", []) if entry["name"] != FALLBACK]
        top = ranking[0] if ranking else {"name": "", "confidence": 0.0}
        selected = result.get("response_selector", {}).get("faq", {}).get("response", {})
        parsed.append(Parsed(text, expected, result["intent"]["name"], top["name"], top["confidence"],
                             selected.get("intent_response_key", "")))
    return parsed


def intent_scores(messages: Sequence[Parsed]) -> Dict[str, Dict[str, float]]:
    """Precision, recall and F1 of each expected intent over these in-scope messages."""
    scores = {}
    for intent in sorted({m.expected for m in messages}):
        true_pos = sum(m.expected == intent and m.predicted == intent for m in messages)
        predicted = sum(m.predicted == intent for m in messages)
        support = sum(m.expected == intent for m in messages)
        precision = true_pos / predicted if predicted else 0.0
        recall = true_pos / support
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[intent] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return scores


def in_scope_summary(messages: Sequence[Parsed]) -> Dict[str, Any]:
    scores = intent_scores(messages)
    return {
        "messages": len(messages),
        "macro_f1": sum(s["f1"] for s in scores.values()) / len(scores),
        "accuracy": sum(m.expected == m.predicted for m in messages) / len(messages),
        "falling_back": sum(m.predicted in NOT_SERVED for m in messages) / len(messages),
        "intents": scores,
        "confusions": Counter((m.expected, m.predicted) for m in messages if m.expected != m.predicted).most_common(),
    }


def caught_share(messages: Sequence[Parsed], threshold: Optional[float] = None) -> float:
    return sum(_not_served(m, threshold) for m in messages) / len(messages)


def _not_served(message: Parsed, threshold: Optional[float]) -> bool:
    """Whether the bot answers 'not something I can help with', at the model's threshold or another."""
    if threshold is None:
        return message.predicted in NOT_SERVED
    return message.top_intent == OUT_OF_SCOPE or message.top_confidence < threshold


def missed(set_name: str, message: Parsed) -> bool:
    if set_name == "out_of_scope":
        return message.predicted not in NOT_SERVED
    if set_name == "faq answers (e)":
        return not answered(message)
    return message.predicted != message.expected


def answered(message: Parsed) -> bool:
    """A frequent question the bot answers with the right answer."""
    return message.predicted == message.expected.split("/")[0] and message.answer == message.expected


def report(sets: Dict[str, List[Parsed]]) -> Tuple[str, Dict[str, Any], bool]:
    summaries = {name: in_scope_summary(messages) for name, messages in sets.items() if name not in APART}
    caught = caught_share(sets["out_of_scope"])
    answers = sets["faq answers (e)"]
    answer_share = sum(answered(m) for m in answers) / len(answers)
    chosen_share = sum(m.answer == m.expected for m in answers) / len(answers)
    lines = ["set                      messages  macro-F1  accuracy  falls back"]
    for name, result in summaries.items():
        lines.append(f"{name:<24} {result['messages']:>8}  {result['macro_f1']:>8.3f}  {result['accuracy']:>8.3f}"
                     f"  {result['falling_back']:>10.1%}")
    lines.append(f"{'out_of_scope (c)':<24} {len(sets['out_of_scope']):>8}  caught {caught:.1%}")
    lines.append(f"{'faq answers (e)':<24} {len(answers):>8}  right answer {answer_share:.1%} "
                 f"(the selector alone {chosen_share:.1%})")
    lines += ["", "per intent F1         customers (a)  typos (b)  holdout"]
    for intent in summaries["customers (a)"]["intents"]:
        cells = [summaries[name]["intents"].get(intent, {}).get("f1", float("nan"))
                 for name in ("customers (a)", "typos (b)", "holdout")]
        lines.append(f"{intent:<24} {cells[0]:>8.3f} {cells[1]:>10.3f} {cells[2]:>8.3f}")
    lines += ["", "most frequent confusions in (a) and (b): expected -> predicted (count)"]
    both = Counter()
    for name in ("customers (a)", "typos (b)"):
        both.update(dict(summaries[name]["confusions"]))
    lines += [f"  {expected} -> {predicted} ({count})" for (expected, predicted), count in both.most_common(15)]
    lines += ["", "other fallback thresholds: out-of-scope caught / customers (a) falling back"]
    for threshold in THRESHOLDS:
        lines.append(f"  {threshold:.1f}: {caught_share(sets['out_of_scope'], threshold):>6.1%} / "
                     f"{caught_share(sets['customers (a)'], threshold):>5.1%}")
    results = {
        "customers_f1": summaries["customers (a)"]["macro_f1"], "typos_f1": summaries["typos (b)"]["macro_f1"],
        "caught": caught, "customers_fallback": summaries["customers (a)"]["falling_back"],
        "faq_answers": answer_share,
    }
    met = (results["customers_f1"] >= TARGETS["customers_f1"] and results["typos_f1"] >= TARGETS["typos_f1"]
           and results["caught"] >= TARGETS["caught"] and results["faq_answers"] >= TARGETS["faq_answers"]
           and results["customers_fallback"] <= TARGETS["customers_fallback"])
    lines += ["", "targets: " + ", ".join(
        f"{key} {results[key]:.3f} ({'<=' if key == 'customers_fallback' else '>='} {TARGETS[key]})"
        for key in TARGETS) + (": met" if met else ": MISSED")]
    return "\n".join(lines), {"summary": results, "sets": summaries}, met


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--nlu", type=Path, default=NLU_DIR, help="folder of the held-out files")
    parser.add_argument("--out", type=Path, default=Path("results/eval"))
    args = parser.parse_args(argv)
    if not args.model.is_file():
        print(f"error: {args.model} not found (make train)", file=sys.stderr)
        return 2

    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    customers = read_messages(args.nlu / "customers.yml")
    texts = {
        "holdout": [m for m in read_messages(args.nlu / "holdout.yml") if m[1] not in NOT_SERVED],
        "customers (a)": customers,
        "typos (b)": with_typos(customers),
        "out_of_scope": read_messages(args.nlu / "out_of_scope.yml")
        + read_messages(args.nlu / "out_of_scope_customers.yml"),
        "faq answers (e)": read_answers(args.nlu / "holdout.yml") + read_answers(args.nlu / "faq_customers.yml"),
    }
    flat = [message for messages in texts.values() for message in messages]
    parsed = asyncio.run(parse_all(args.model, flat))
    sets, start = {}, 0
    for name, messages in texts.items():
        sets[name] = parsed[start: start + len(messages)]
        start += len(messages)

    table, results, met = report(sets)
    args.out.mkdir(parents=True, exist_ok=True)
    results["misses"] = {name: [asdict(m) for m in messages if missed(name, m)] for name, messages in sets.items()}
    (args.out / "report.json").write_text(json.dumps(results, indent=2))
    print(table)
    print(f"\nevery miss: {args.out / 'report.json'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
