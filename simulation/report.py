"""The table of outcomes per flow, and whether the targets are met."""

from collections import Counter, defaultdict
from typing import Dict, List

from simulation.customer import NOT_UNDERSTOOD, Outcome

RESULTS = ("completed", "handed", "stuck")
CONTAINMENT_TARGET = 0.85


def table(outcomes: List[Outcome]) -> str:
    """A Markdown table: per flow, journeys completed without a person, handed to a person, stuck."""
    by_flow: Dict[str, Counter] = defaultdict(Counter)
    for outcome in outcomes:
        by_flow[outcome.journey.flow.name][outcome.result] += 1
    unsure: Counter = Counter(o.journey.flow.name for o in outcomes if bot_was_unsure(o))
    lines = ["| flow | journeys | completed without a person | handed to a person | stuck | bot unsure at least once |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, counts in by_flow.items():
        total = sum(counts.values())
        lines.append(f"| {name} | {total} | " + " | ".join(_share(counts[r], total) for r in RESULTS)
                     + f" | {_share(unsure[name], total)} |")
    totals = Counter(o.result for o in outcomes)
    lines.append(f"| **all** | {len(outcomes)} | " + " | ".join(_share(totals[r], len(outcomes)) for r in RESULTS)
                 + f" | {_share(sum(unsure.values()), len(outcomes))} |")
    return "\n".join(lines)


def bot_was_unsure(outcome: Outcome) -> bool:
    """Whether the bot asked to rephrase or offered topics to choose from during the journey."""
    return any(line.startswith("bot: ") and NOT_UNDERSTOOD.search(line) for line in outcome.transcript)


def containment(outcomes: List[Outcome]) -> float:
    """Share of journeys completed without a person, among customers who did not ask for one."""
    served = [o for o in outcomes if not o.journey.flow.wants_person]
    return sum(o.result == "completed" for o in served) / len(served) if served else 0.0


def by_variant(outcomes: List[Outcome]) -> str:
    counts: Dict[str, Counter] = defaultdict(Counter)
    for outcome in outcomes:
        if not outcome.journey.flow.wants_person:
            counts[outcome.journey.variant][outcome.result] += 1
    return "\n".join(f"  {variant}: " + ", ".join(f"{r} {c[r]}" for r in RESULTS)
                     for variant, c in sorted(counts.items()))


def _share(count: int, total: int) -> str:
    return f"{count} ({count / total:.0%})" if total else "0"
