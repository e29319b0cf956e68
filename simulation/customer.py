"""One scripted customer playing one journey through the stand-in, and what came of it.

The customer reacts to the bot as people do: answers "which order?" by tapping the order's button
or typing its number, gives the address or the change when asked, confirms a cancellation, taps
the button of their topic when the bot is unsure, rephrases when not understood, and takes the
offered person when the bot is still lost. The journey ends as

- completed: the bot's replies showed every goal of the flow, with no person involved;
- handed: the bot passed the customer to a person;
- stuck: no progress in 3 turns in a row (not understood, no answer, or the same answer again),
  or 12 turns without an end.
"""

import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from simulation.flows import Flow
from simulation.journeys import Journey, typed

MAX_TURNS = 12
STUCK_AFTER = 3

HANDED = re.compile(r"passing you to our team|team is offline right now|they'll reply here|"
                    r"can't reach our team", re.IGNORECASE)
NOT_UNDERSTOOD = re.compile(r"not sure what you mean|didn't get that|still not getting it|round in circles|"
                            r"still don't have what I need|still can't tell which order", re.IGNORECASE)
ASKS_ORDER = re.compile(r"Which order", re.IGNORECASE)
ASKS_ADDRESS = re.compile(r"new delivery address|doesn't look like a full address", re.IGNORECASE)
ASKS_CHANGE = re.compile(r"What would you like to change|describe the change|Which other day suits you",
                         re.IGNORECASE)
ASKS_CANCEL = re.compile(r"Cancel order (\S+) \(")

# Sends one message (text, or a tapped button) and returns the bot's replies.
Send = Callable[[str, Optional[Dict[str, str]]], List[Dict[str, Any]]]


@dataclass
class Reply:
    """The bot's messages of one turn, as text (buttons listed) and the buttons themselves."""
    text: str
    buttons: List[Dict[str, str]]

    @classmethod
    def of(cls, records: List[Dict[str, Any]]) -> "Reply":
        """From the stand-in's outbox records (each holds the Cloud API message body)."""
        lines, buttons = [], []
        for message in (record["message"] for record in records):
            kind = message.get("type")
            if kind == "text":
                lines.append(message["text"]["body"])
            elif kind == "interactive":
                interactive = message["interactive"]
                lines.append(interactive.get("body", {}).get("text", ""))
                action = interactive.get("action", {})
                buttons += [{"id": b["reply"]["id"], "title": b["reply"]["title"]} for b in action.get("buttons", [])]
                buttons += [{"id": r["id"], "title": r["title"]}
                            for s in action.get("sections", []) for r in s.get("rows", [])]
            elif kind == "document":
                lines.append(f"[document {message['document'].get('filename', '')}]")
            elif kind == "template":
                lines.append(f"[template {message['template']['name']}]")
            else:
                lines.append(f"[{kind}]")
        return cls("\n".join(lines), buttons)

    def button(self, payload_part: str) -> Optional[Dict[str, str]]:
        return next((b for b in self.buttons if payload_part in b["id"]), None)


@dataclass
class Outcome:
    journey: Journey
    result: str  # completed, handed, stuck
    turns: int
    transcript: List[str] = field(default_factory=list)


class Customer:
    def __init__(self, journey: Journey, send: Send) -> None:
        self.journey = journey
        self.flow: Flow = journey.flow
        self.send = send
        self.rng = random.Random(journey.seed)
        self.goals = journey.goals()
        self.reached = 0  # goals seen so far
        self.transcript: List[str] = []
        self.rephrasings = [o for o in self.flow.openings if o != journey.opening]
        self.rng.shuffle(self.rephrasings)
        self.follow_ups = list(self.flow.follow_ups)
        self.interrupted = journey.interruption is None
        self.corrected = journey.correction is None
        self.misses = 0

    def play(self) -> Outcome:
        moves: List[Any] = ([self.journey.fill(self.rng.choice(("hi", "hello", "hey there")))]
                            if self.journey.greet_first else [])
        moves.append(typed(self.journey, self.journey.opening, self.rng))
        stalled, previous, turns = 0, None, 0
        while turns < MAX_TURNS:
            move = moves.pop(0) if moves else None
            if move is None:
                return self._end("stuck", turns)
            reply = self._say(move)
            turns += 1
            if HANDED.search(reply.text):
                return self._end("handed", turns)
            progressed = self._check_goals(reply)
            if self.reached == len(self.goals) and self.goals:
                return self._end("completed", turns)
            not_understood = not reply.text or NOT_UNDERSTOOD.search(reply.text) or reply.text == previous
            stalled = 0 if progressed or not not_understood else stalled + 1
            if stalled >= STUCK_AFTER:
                return self._end("stuck", turns)
            previous = reply.text
            if self.journey.greet_first and turns == 1 and moves:
                continue  # the greeting was answered; now the request
            moves.append(self._react(reply, progressed))
        return self._end("stuck", turns)

    def _say(self, move: Any) -> Reply:
        if isinstance(move, dict):
            self.transcript.append(f"customer taps [{move['title']}] {move['id']}")
            messages = self.send("", move)
        else:
            self.transcript.append(f"customer: {move}")
            messages = self.send(move, None)
        reply = Reply.of(messages)
        self.transcript.append("bot: " + (reply.text.replace("\n", " / ") or "(nothing)"))
        return reply

    def _check_goals(self, reply: Reply) -> bool:
        before = self.reached
        while self.reached < len(self.goals) and re.search(self.goals[self.reached], reply.text):
            self.reached += 1
        return self.reached > before

    def _react(self, reply: Reply, progressed: bool) -> Any:
        """The customer's next message after `reply`."""
        journey, text = self.journey, reply.text
        if self.flow.wants_person:
            return self._rephrase()
        if NOT_UNDERSTOOD.search(text) or not text:
            self.misses += 1
            topic = reply.button(f"/{self.flow.intent}") if self.flow.intent else None
            person = reply.button("/human_handoff")
            if topic and not topic["id"].startswith("/human_handoff"):
                return topic
            if person and self.misses >= 2:
                return person
            return self._rephrase()
        if progressed and self.follow_ups:
            return typed(journey, self.follow_ups.pop(self.rng.randrange(len(self.follow_ups))), self.rng)
        asks = ASKS_ORDER.search(text) or ASKS_ADDRESS.search(text) or ASKS_CHANGE.search(text)
        if asks and not self.interrupted:
            self.interrupted = True
            return typed(journey, journey.interruption or "", self.rng)
        cancel = ASKS_CANCEL.search(text)
        if cancel:
            if cancel.group(1) != journey.order:
                self.corrected = True
                return typed(journey, journey.correction or "no, I meant {order}", self.rng)
            yes = reply.button("/affirm")
            return yes if yes and journey.taps_buttons else typed(journey, "yes please", self.rng)
        if ASKS_ADDRESS.search(text):
            return journey.address
        if ASKS_CHANGE.search(text):
            return typed(journey, journey.change, self.rng)
        mine = reply.button(f'"order_id": "{journey.order}"') if journey.order else None
        if mine and (journey.taps_buttons or not ASKS_ORDER.search(text)):
            return mine
        if ASKS_ORDER.search(text):
            return journey.fill(journey.typed_order)
        if journey.correction and not self.corrected:
            self.corrected = True
            return typed(journey, journey.correction, self.rng)
        return self._rephrase()

    def _rephrase(self) -> str:
        opening = self.rephrasings.pop(0) if self.rephrasings else self.journey.opening
        return typed(self.journey, opening, self.rng)

    def _end(self, result: str, turns: int) -> Outcome:
        return Outcome(self.journey, result, turns, self.transcript)
