"""Prints the macro-F1 of `rasa test nlu` runs and fails when one is below the target.

    python -m bot.nlp.eval_report results/holdout results/cross-validation [--target 0.92]

Each folder is the `--out` of one `rasa test nlu` run and holds its `intent_report.json`
(and `response_selection_report.json` when the ResponseSelector was evaluated).
"""

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

INTENT_REPORT = "intent_report.json"
RESPONSE_REPORT = "response_selection_report.json"


class MissingReport(Exception):
    pass


def macro_f1(report_file: Path) -> float:
    if not report_file.is_file():
        raise MissingReport(f"{report_file} not found: run `rasa test nlu --out {report_file.parent}` first")
    report = json.loads(report_file.read_text())
    try:
        return float(report["macro avg"]["f1-score"])
    except (KeyError, TypeError, ValueError) as error:
        raise MissingReport(f"{report_file} has no macro avg f1-score") from error


def weakest_intents(report_file: Path, count: int = 3) -> List[str]:
    report = json.loads(report_file.read_text())
    per_intent = {name: scores["f1-score"] for name, scores in report.items()
                  if isinstance(scores, dict) and "support" in scores and name not in
                  ("macro avg", "weighted avg", "micro avg")}
    return [f"{name} {f1:.3f}" for name, f1 in sorted(per_intent.items(), key=lambda item: item[1])[:count]]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="output folders of rasa test nlu")
    parser.add_argument("--target", type=float, default=0.92, help="lowest acceptable intent macro-F1")
    args = parser.parse_args(argv)

    all_met = True
    try:
        for run in args.runs:
            score = macro_f1(run / INTENT_REPORT)
            met = score >= args.target
            all_met &= met
            print(f"{run}: intent macro-F1 {score:.3f} ({'meets' if met else 'BELOW'} target {args.target:.2f});"
                  f" weakest: {', '.join(weakest_intents(run / INTENT_REPORT))}")
            if (run / RESPONSE_REPORT).is_file():
                print(f"{run}: faq response selection macro-F1 {macro_f1(run / RESPONSE_REPORT):.3f}")
    except MissingReport as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
