"""Workflow actions run with the real Rasa SDK objects: trackers as Rasa sends them, the messages and events
an action returns."""

import asyncio
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from stack.settings import ROOT

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
SAM, ANA, OMAR, STRANGER = "15551230001", "15551230002", "15551230003", "15559990000"


def make_tracker(
    sender: str = SAM,
    intent: str = "order_status",
    text: str = "where is my order",
    entities: Sequence[Tuple[str, str]] = (),
    slots: Optional[Dict[str, Any]] = None,
    wamid: Optional[str] = "wamid.HBgLMTU1NTEyMzAwMDEVAgASGBQzQTk",
    ranking: Sequence[Tuple[str, float]] = (),
    history: Sequence[Dict[str, Any]] = (),
    active_loop: Optional[str] = None,
) -> Tracker:
    metadata = {"wamid": wamid, "wa_profile_name": "Sam Lee"} if wamid else {}
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [{"entity": name, "value": value} for name, value in entities],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "metadata": metadata,
    }
    events = list(history) + [{"event": "user", "text": text, "parse_data": latest, "metadata": metadata}]
    return Tracker(
        sender, dict(slots or {}), latest, events, False, None, {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def user_event(intent: str, text: str = "x") -> Dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}, "metadata": {}}


def run(action: Action, tracker: Tracker) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, events


def texts(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def slot(events: List[Dict[str, Any]], name: str) -> Any:
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    assert values, f"slot {name} was not set"
    return values[-1]


def bot_event(text: str, buttons: Sequence[Dict[str, str]] = ()) -> Dict[str, Any]:
    return {"event": "bot", "text": text, "data": {"buttons": list(buttons)}}
