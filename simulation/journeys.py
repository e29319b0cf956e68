"""Journeys generated from the flow templates: each a distinct customer with their own orders, in
varied words, with typos, a greeting first, a question in between or a correction."""

import random
from dataclasses import dataclass
from typing import List, Optional, Tuple

from simulation.flows import ADDRESSES, CORRECTIONS, FLOWS, INTERRUPTIONS, ORDER_CHANGES, TYPED_ORDER, Flow
from simulation.typos import with_typos

FIRST_NAMES = ("Lena", "Omar", "Mia", "Jonas", "Ana", "Kofi", "Priya", "Tom", "Yuki", "Sofia", "Luca", "Zoe")
LAST_NAMES = ("Vogel", "Haddad", "Lima", "Okafor", "Sato", "Novak", "Rossi", "Berg", "Silva", "Khan")
GREETINGS = ("hi", "hello", "hey there", "good morning", "hi!")


@dataclass(frozen=True)
class Journey:
    index: int
    flow: Flow
    wa_id: str
    name: str
    # (number, state) of each of the customer's orders; the first is the journey's.
    orders: Tuple[Tuple[str, str], ...]
    opening: str
    greet_first: bool
    typo_rate: float
    interruption: Optional[str]
    correction: Optional[str]
    address: str
    change: str
    taps_buttons: bool
    typed_order: str
    seed: int

    @property
    def order(self) -> Optional[str]:
        return self.orders[0][0] if self.orders else None

    @property
    def variant(self) -> str:
        """What makes this journey harder than the plain one (for the report)."""
        parts = [p for p, on in (("typos", self.typo_rate > 0), ("greeting", self.greet_first),
                                 ("interruption", self.interruption), ("correction", self.correction)) if on]
        return "+".join(parts) or "plain"

    def goals(self) -> List[str]:
        return [g.format(order=self.order or "", other=self.other or "") for g in self.flow.goals]

    @property
    def other(self) -> Optional[str]:
        return self.orders[1][0] if len(self.orders) > 1 else None

    def fill(self, text: str) -> str:
        return text.format(order=self.order or "", other=self.other or "")


def order_number(index: int, k: int) -> str:
    # Six digits: never a postcode, and the entity ruler's order-number shape.
    return str(700000 + index * 4 + k)


def generate(count: int, seed: int = 13) -> List[Journey]:
    """`count` journeys, the flows taking turns, the same ones for the same seed."""
    rng = random.Random(seed)
    journeys = []
    for index in range(count):
        flow = FLOWS[index % len(FLOWS)]
        corrected = bool(flow.corrected_openings) and rng.random() < 0.25
        states = list(flow.orders)
        if corrected and flow.other_state:
            states = [states[0], flow.other_state] + states[1:]
        orders = tuple((order_number(index, k), state) for k, state in enumerate(states))
        opening = rng.choice(flow.corrected_openings if corrected else flow.openings)
        asks_questions = flow.name in ("cancel order", "change order", "change address", "order status", "invoice")
        journeys.append(Journey(
            index=index, flow=flow, wa_id=f"4930{index:08d}",
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            orders=orders, opening=opening,
            greet_first=not flow.name.startswith("greet") and rng.random() < 0.2,
            typo_rate=rng.choice((0.0, 0.0, 0.12, 0.12, 0.3)),
            interruption=rng.choice(INTERRUPTIONS) if asks_questions and rng.random() < 0.3 else None,
            correction=rng.choice(CORRECTIONS) if corrected else None,
            address=rng.choice(ADDRESSES), change=rng.choice(ORDER_CHANGES),
            taps_buttons=rng.random() < 0.5, typed_order=rng.choice(TYPED_ORDER), seed=rng.randrange(10**9),
        ))
    return journeys


def typed(journey: Journey, text: str, rng: random.Random) -> str:
    """What the customer actually types: the text with their typos (numbers stay intact)."""
    return with_typos(journey.fill(text), rng, journey.typo_rate)
