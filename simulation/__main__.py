"""`make simulate`: scripted customers through the whole stack, outcomes per flow.

    python -m simulation [--journeys 340] [--parallel 10] [--running] [--transcripts DIR]

Without --running it starts the stack as `make run` does (free ports, a temporary var/), seeds each
journey's customer and orders into that stack's shop database, plays the journeys as WhatsApp
customers through the Cloud API stand-in, prints the table and exits 1 when a target is missed
(at least 85% completed without a person among customers who did not ask for one, none stuck).
"""

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

from cloud_api_standin.say import converse
from simulation import report, shop_seed
from simulation.customer import Customer, Outcome
from simulation.journeys import Journey, generate
from stack import settings
from stack.background import BackgroundStack


def play_all(env: Dict[str, str], journeys: List[Journey], parallel: int) -> List[Outcome]:
    standin = env["STANDIN_URL"]

    def play(journey: Journey) -> Outcome:
        def send(text: str, button: Optional[Dict[str, str]]):
            return converse(standin, journey.wa_id, text, journey.name, timeout=60.0, quiet=2.5, button=button)

        return Customer(journey, send).play()

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(play, journeys))


def simulate(env: Dict[str, str], journeys: List[Journey], parallel: int) -> List[Outcome]:
    shop_seed.seed(env["DATABASE_URL"], journeys)
    return play_all(env, journeys, parallel)


def write_transcripts(outcomes: List[Outcome], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.txt"):  # an earlier run's journeys
        old.unlink()
    for outcome in outcomes:
        journey = outcome.journey
        name = f"{journey.index:04d}-{outcome.result}-{journey.flow.name.replace(' / ', '-').replace(' ', '-')}.txt"
        (directory / name).write_text(f"{journey.flow.name} ({journey.variant}), {journey.wa_id}\n"
                                      + "\n".join(outcome.transcript) + "\n")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--journeys", type=int, default=340)
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--running", action="store_true", help="use the stack `make run` started")
    parser.add_argument("--transcripts", type=Path, default=Path("results/simulation"))
    args = parser.parse_args(argv)

    journeys = generate(args.journeys, args.seed)
    if args.running:
        outcomes = simulate(settings.resolve(), journeys, args.parallel)
    else:
        with tempfile.TemporaryDirectory(prefix="simulate-") as var_dir:
            stack = BackgroundStack(Path(var_dir))
            stack.start(timeout=300)
            try:
                outcomes = simulate(stack.resolved(), journeys, args.parallel)
            finally:
                stack.stop()
    write_transcripts(outcomes, args.transcripts)
    share = report.containment(outcomes)
    stuck = sum(o.result == "stuck" for o in outcomes)
    print(report.table(outcomes))
    print(f"\ncompleted without a person (customers who did not ask for one): {share:.1%} "
          f"(target {report.CONTAINMENT_TARGET:.0%}); stuck: {stuck} (target 0)")
    print("by variant:\n" + report.by_variant(outcomes))
    print(f"transcripts: {args.transcripts}/")
    return 0 if share >= report.CONTAINMENT_TARGET and stuck == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
