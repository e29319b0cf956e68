"""Prints the macro-F1 of `rasa test nlu` runs and fails when one is below the target.

    python -m bot.nlp.eval_report results/holdout results/cross-validation [--target 0.92]

Each folder is the `--out` of one `rasa test nlu` run and holds its `intent_report.json`
(and `response_selection_report.json` when the ResponseSelector was evaluated). The macro-F1
averages the intents with at least --min-support test messages: the intents that are never
typed (buttons, channel events) have one placeholder example, too few to score.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

INTENT_REPORT = "intent_report.json"
RESPONSE_REPORT = "response_selection_report.json"
AVERAGES = ("macro avg", "weighted avg", "micro avg")


class MissingReport(Exception):
    pass


def read_report(report_file: Path) -> Dict[str, dict]:
    """Per-label scores of a sklearn-style report written by `rasa test nlu`."""
    if not report_file.is_file():
        raise MissingReport(f"{report_file} not found: run `rasa test nlu --out {report_file.parent}` first")
    try:
        report = json.loads(report_file.read_text())
        labels = {name: scores for name, scores in report.items() if name not in AVERAGES and isinstance(scores, dict)}
        for scores in labels.values():
            float(scores["f1-score"]), int(scores["support"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise MissingReport(f"{report_file} is not an intent report with f1-score and support per label") from error
    if not labels:
        raise MissingReport(f"{report_file} scores no label")
    return labels


def macro_f1(labels: Dict[str, dict], min_support: int) -> float:
    scored = [scores["f1-score"] for scores in labels.values() if scores["support"] >= min_support]
    if not scored:
        raise MissingReport(f"no label has {min_support} or more test messages")
    return sum(scored) / len(scored)


def describe(run: Path, name: str, labels: Dict[str, dict], target: float, min_support: int) -> bool:
    score = macro_f1(labels, min_support)
    met = score >= target
    scored = {label: s for label, s in labels.items() if s["support"] >= min_support}
    weakest = ", ".join(f"{label} {scores['f1-score']:.3f}"
                        for label, scores in sorted(scored.items(), key=lambda item: item[1]["f1-score"])[:3])
    left_out = ", ".join(sorted(label for label in labels if label not in scored))
    line = (f"{run}: {name} macro-F1 {score:.3f} over {len(scored)} labels "
            f"({'meets' if met else 'BELOW'} target {target:.2f}); weakest: {weakest}")
    print(line + (f"; not scored (< {min_support} messages): {left_out}" if left_out else ""))
    return met


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="output folders of rasa test nlu")
    parser.add_argument("--target", type=float, default=0.92, help="lowest acceptable intent macro-F1")
    parser.add_argument("--min-support", type=int, default=10, help="fewest test messages for a label to count")
    args = parser.parse_args(argv)

    all_met = True
    try:
        for run in args.runs:
            all_met &= describe(run, "intent", read_report(run / INTENT_REPORT), args.target, args.min_support)
            if (run / RESPONSE_REPORT).is_file():
                describe(run, "faq response", read_report(run / RESPONSE_REPORT), args.target, 1)
    except MissingReport as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
