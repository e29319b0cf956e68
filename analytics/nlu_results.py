"""What the bot's NLU made of one customer message, read from the conversation's events after its turn.

The events are Rasa's tracker events as dicts (`Event.as_dict()`): the `user` event whose `message_id` is the
message's wamid carries `parse_data`; the actions and bot messages after it, up to the next `user` event, are
the turn. Pure: no Redis, no Rasa import (the bot passes the dicts in).

A message **fell back** when the FallbackClassifier replaced its intent by `nlu_fallback` (below its
threshold in config.yml, or two intents too close) or when the dialogue policy ran `action_default_fallback`
(RulePolicy's core fallback). `out_of_scope` is its own flag: the bot understood a request it does not serve.
"""

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

NLU_FALLBACK = "nlu_fallback"
CORE_FALLBACK = "action_default_fallback"
OUT_OF_SCOPE = "out_of_scope"
RANKING = 3  # intents of the ranking kept with each result
CONTEXT = 4  # messages kept before the one reviewed; the bot's answers in its own turn come after it


@dataclass(frozen=True)
class NluResult:
    wamid: str
    text: str
    intent: str
    confidence: float
    fell_back: str  # "nlu", "core" or ""
    out_of_scope: bool
    resembles: str  # the likeliest intent that is no fallback
    ranking: List[Dict[str, Any]]  # [{"name", "confidence"}] of the top RANKING
    before: List[Dict[str, str]] = field(default_factory=list)  # [{"who": "customer"|"bot", "text"}]
    after: List[Dict[str, str]] = field(default_factory=list)

    def scored_low(self, threshold: float) -> bool:
        return not self.fell_back and self.confidence < threshold

    def for_review(self, threshold: float) -> bool:
        """Its text is worth a designer's look: it fell back or the bot was unsure."""
        return bool(self.fell_back) or self.scored_low(threshold)

    def event_fields(self, kept: bool) -> Dict[str, Any]:
        """The `nlu_result` event's fields besides `wamid` and `sender` (no text: events outlive the texts)."""
        return {"intent": self.intent, "confidence": round(self.confidence, 4), "fell_back": self.fell_back,
                "out_of_scope": "1" if self.out_of_scope else "", "resembles": self.resembles,
                "ranking": json.dumps(self.ranking), "kept": "1" if kept else ""}


def result_of(events: Iterable[Dict[str, Any]], wamid: str) -> Optional[NluResult]:
    """The result of the message `wamid` in a conversation's events; None when no user event has that id."""
    events = list(events)
    at = next((n for n in range(len(events) - 1, -1, -1)
               if events[n].get("event") == "user" and events[n].get("message_id") == wamid), None)
    if at is None:
        return None
    user = events[at]
    parse = user.get("parse_data") or {}
    intent = parse.get("intent") or {}
    name = str(intent.get("name") or "")
    turn: List[Dict[str, Any]] = []
    for event in events[at + 1:]:
        if event.get("event") == "user":
            break
        turn.append(event)
    core = any(e.get("event") == "action" and e.get("name") == CORE_FALLBACK for e in turn)
    ranking = [{"name": str(r.get("name")), "confidence": round(float(r.get("confidence") or 0), 4)}
               for r in parse.get("intent_ranking") or [] if r.get("name")]
    if not ranking and name:
        ranking = [{"name": name, "confidence": round(float(intent.get("confidence") or 0), 4)}]
    resembles = next((r["name"] for r in ranking if r["name"] != NLU_FALLBACK), "")
    return NluResult(
        wamid=wamid, text=str(user.get("text") or parse.get("text") or ""), intent=name,
        confidence=float(intent.get("confidence") or 0),
        fell_back="nlu" if name == NLU_FALLBACK else "core" if core else "",
        out_of_scope=name == OUT_OF_SCOPE, resembles=resembles, ranking=ranking[:RANKING],
        before=_messages(events[:at])[-CONTEXT:], after=_messages(turn))


def _messages(events: Iterable[Dict[str, Any]]) -> List[Dict[str, str]]:
    said = {"user": "customer", "bot": "bot"}
    return [{"who": said[e["event"]], "text": str(e["text"])} for e in events
            if e.get("event") in said and e.get("text")]
