"""Checks the FallbackClassifier with the trained model: out-of-scope messages must fall back,
held-out customer messages must not.

    python -m bot.nlp.fallback_check models/current.tar.gz tests/nlu/out_of_scope.yml tests/nlu/holdout.yml

`rasa test nlu` undoes fallback predictions before scoring, so this parses each message as the
bot does. It prints how many out-of-scope messages fall back and how many customer messages
wrongly do, at the configured threshold and at others (to tune it), and fails when either share
is worse than the floors (--min-caught, --max-wrong): a closed-set classifier without an
out_of_scope intent is often confident about text it has never seen, so the floors guard against
regressions; they are not a claim that every out-of-scope message falls back.
"""

import argparse
import asyncio
import json
import logging
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog

FALLBACK_INTENT = "nlu_fallback"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
AMBIGUITIES = (0.1, 0.2, 0.3)


@dataclass(frozen=True)
class Parsed:
    text: str
    expected: str
    predicted: str
    top_intent: str
    top_confidence: float
    margin: float


def _top_two(parse: Dict[str, Any]) -> List[Dict[str, Any]]:
    ranking = [entry for entry in parse.get("intent_ranking", []) if entry["name"] != FALLBACK_INTENT]
    return (ranking + [{"name": "", "confidence": 0.0}] * 2)[:2]


def read_messages(path: Path) -> List[tuple]:
    return [(example.get("text"), example.get("intent")) for example in load_data(str(path)).intent_examples]


async def parse_all(model: Path, messages: Sequence[tuple]) -> List[Parsed]:
    agent = Agent.load(str(model))
    parsed = []
    for text, expected in messages:
        result = await agent.parse_message(text)
        first, second = _top_two(result)
        parsed.append(Parsed(text, expected, result["intent"]["name"], first["name"], first["confidence"],
                             first["confidence"] - second["confidence"]))
    return parsed


def falls_back(message: Parsed, threshold: float, ambiguity: float) -> bool:
    return message.top_confidence < threshold or message.margin < ambiguity


def fallback_share(messages: List[Parsed], threshold: float, ambiguity: float) -> float:
    return sum(falls_back(message, threshold, ambiguity) for message in messages) / len(messages)


def summary(out_of_scope: List[Parsed], in_scope: List[Parsed]) -> Dict[str, Any]:
    caught = [m for m in out_of_scope if m.predicted == FALLBACK_INTENT]
    wrongly = [m for m in in_scope if m.predicted == FALLBACK_INTENT]
    return {
        "out_of_scope_caught": len(caught) / len(out_of_scope),
        "in_scope_falling_back": len(wrongly) / len(in_scope),
        "missed_out_of_scope": [asdict(m) for m in out_of_scope if m.predicted != FALLBACK_INTENT],
        "in_scope_fallbacks": [asdict(m) for m in wrongly],
        # Where more training data helps most: the customer messages the model is least sure of.
        "in_scope_least_confident": [asdict(m) for m in sorted(in_scope, key=lambda m: m.top_confidence)[:30]],
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("out_of_scope", type=Path, help="NLU file of messages that must fall back")
    parser.add_argument("in_scope", type=Path, help="NLU file of customer messages that must not")
    parser.add_argument("--out", type=Path, default=Path("results/fallback"))
    parser.add_argument("--min-caught", type=float, default=0.55, help="share of out-of-scope that must fall back")
    parser.add_argument("--max-wrong", type=float, default=0.06, help="share of in-scope allowed to fall back")
    args = parser.parse_args(argv)
    for path in (args.model, args.out_of_scope, args.in_scope):
        if not path.is_file():
            print(f"error: {path} not found", file=sys.stderr)
            return 2

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    out_of_scope = read_messages(args.out_of_scope)
    in_scope = [message for message in read_messages(args.in_scope) if message[1] != FALLBACK_INTENT]
    parsed = asyncio.run(parse_all(args.model, out_of_scope + in_scope))
    parsed_out, parsed_in = parsed[: len(out_of_scope)], parsed[len(out_of_scope):]

    result = summary(parsed_out, parsed_in)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fallback_report.json").write_text(json.dumps(result, indent=2))

    print("share of out-of-scope / in-scope messages falling back at other settings:")
    print("  threshold " + "".join(f"  ambiguity {ambiguity:.1f}" for ambiguity in AMBIGUITIES))
    for threshold in THRESHOLDS:
        cells = [f"{fallback_share(parsed_out, threshold, a):>8.0%} /{fallback_share(parsed_in, threshold, a):>3.0%}"
                 for a in AMBIGUITIES]
        print(f"  {threshold:9.2f} " + "".join(f"  {cell}" for cell in cells))
    for missed in result["missed_out_of_scope"]:
        print(f"  not caught: {missed['text']!r} -> {missed['predicted']} {missed['top_confidence']:.2f}")
    met = result["out_of_scope_caught"] >= args.min_caught and result["in_scope_falling_back"] <= args.max_wrong
    print(f"fallback with the model's threshold: out-of-scope caught {result['out_of_scope_caught']:.0%} "
          f"(target >= {args.min_caught:.0%}), in-scope falling back {result['in_scope_falling_back']:.0%} "
          f"(target <= {args.max_wrong:.0%}): {'meets' if met else 'BELOW'} targets")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
