"""A small `make simulate`: scripted customers through the whole stack, with the journeys' own
customers and orders seeded into the stack's shop database."""


import pytest

from simulation import report
from simulation.__main__ import simulate
from simulation.journeys import generate
from tests.e2e.harness import RunningStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(workflow_stack: RunningStack) -> RunningStack:
    return workflow_stack  # shared with the other workflow modules


def test_ten_journeys_end_completed_or_with_a_person_and_none_stuck(stack: RunningStack) -> None:
    journeys = generate(10, seed=13)
    assert len({j.flow.name for j in journeys}) == 10 and len({j.wa_id for j in journeys}) == 10
    outcomes = simulate(stack.resolved(), journeys, parallel=5)
    stuck = [o for o in outcomes if o.result == "stuck"]
    assert not stuck, "\n\n".join("\n".join(o.transcript) for o in stuck)
    completed = [o for o in outcomes if o.result == "completed"]
    assert len(completed) >= 8, report.table(outcomes)
    # Completion is read from the bot's own replies: the seeded order's status and cancellation.
    transcripts = {o.journey.flow.name: "\n".join(o.transcript) for o in completed}
    first, cancel = journeys[0], journeys[1]
    if "order status" in transcripts:
        assert f"Order {first.order} (" in transcripts["order status"]
    if "cancel order" in transcripts:
        assert f"order {cancel.order} is cancelled" in transcripts["cancel order"]
