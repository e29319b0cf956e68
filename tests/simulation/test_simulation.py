"""The simulation's own parts: journeys generated from the templates, typing slips, reading the
bot's messages as the stand-in recorded them, the report."""

import random
import re

from simulation import report
from simulation.customer import Outcome, Reply
from simulation.flows import FLOWS
from simulation.journeys import generate
from simulation.typos import with_typos


def test_300_journeys_cover_every_flow_with_distinct_customers_and_orders():
    journeys = generate(340)
    assert {j.flow.name for j in journeys} == {f.name for f in FLOWS}
    assert len({j.wa_id for j in journeys}) == 340
    numbers = [number for j in journeys for number, _ in j.orders]
    assert len(numbers) == len(set(numbers)) and all(re.fullmatch(r"\d{6}", n) for n in numbers)
    variants = " ".join(j.variant for j in journeys)
    for kind in ("typos", "greeting", "interruption", "correction", "plain"):
        assert variants.count(kind) >= 20, kind
    assert generate(340) == journeys  # the same journeys for the same seed


def test_every_goal_and_opening_is_filled_for_its_journey():
    for journey in generate(len(FLOWS) * 4):
        text = journey.fill(journey.opening)
        assert "{" not in text
        if "{order}" in journey.opening:
            assert journey.order in text
        for goal in journey.goals():
            re.compile(goal)
            assert "{order}" not in goal and "{other}" not in goal


def test_typing_slips_leave_numbers_and_keywords_alone():
    rng = random.Random(3)
    slipped = [with_typos("please cancel order 700123 STOP immediately", rng, 1.0) for _ in range(20)]
    assert all("700123" in s and "STOP" in s for s in slipped)
    assert sum(s != "please cancel order 700123 STOP immediately" for s in slipped) >= 18
    assert with_typos("please cancel", rng, 0.0) == "please cancel"


def test_the_bot_messages_are_read_with_their_buttons_and_documents():
    records = [
        {"seq": 1, "message": {"type": "text", "text": {"body": "Which order do you mean?"}}},
        {"seq": 2, "message": {"type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Pick one"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": '/get_invoice{"order_id": "700001"}',
                                                                "title": "Order 700001"}}]}}}},
        {"seq": 3, "message": {"type": "document", "document": {"link": "https://x/a.pdf",
                                                                "filename": "invoice-700001.pdf"}}},
    ]
    reply = Reply.of(records)
    assert reply.text == "Which order do you mean?\nPick one\n[document invoice-700001.pdf]"
    assert reply.button('"order_id": "700001"') == {"id": '/get_invoice{"order_id": "700001"}',
                                                     "title": "Order 700001"}


def test_the_report_counts_containment_among_customers_who_did_not_ask_for_a_person():
    journeys = generate(len(FLOWS))
    results = ["completed"] * (len(FLOWS) - 3) + ["stuck", "handed", "handed"]
    outcomes = [Outcome(j, r, 2) for j, r in zip(journeys, results, strict=False)]
    handoff = next(o for o in outcomes if o.journey.flow.wants_person)
    handoff.result = "handed"
    served = [o for o in outcomes if not o.journey.flow.wants_person]
    assert report.containment(outcomes) == sum(o.result == "completed" for o in served) / len(served)
    assert f"| **all** | {len(FLOWS)} |" in report.table(outcomes)
