"""Rasa's conversation endpoints as the handoff service calls them, over real HTTP: the tracker holds the
events a test gives it plus every message the service records (agents' messages, hand backs)."""

import time
from typing import Any, Dict, List

from flask import Flask, jsonify, request


class TrackerRasa:
    def __init__(self) -> None:
        self.events: Dict[str, List[Dict[str, Any]]] = {}
        self.app = Flask("rasa-trackers")
        self.app.add_url_rule("/conversations/<wa_id>/tracker", "tracker", self.tracker)
        self.app.add_url_rule("/conversations/<wa_id>/tracker/events", "events", self.append, methods=["POST"])
        self.app.add_url_rule("/conversations/<wa_id>/trigger_intent", "trigger", lambda wa_id: jsonify({}),
                              methods=["POST"])

    def said(self, wa_id: str, who: str, text: str, at: float) -> None:
        """A message of the bot conversation: `who` is "user" (the customer) or "bot"."""
        self.events.setdefault(wa_id, []).append({"event": who, "text": text, "timestamp": at})

    def tracker(self, wa_id: str) -> Any:
        return jsonify({"sender_id": wa_id, "events": sorted(self.events.get(wa_id, []),
                                                             key=lambda e: e.get("timestamp") or 0)})

    def append(self, wa_id: str) -> Any:
        body = request.get_json(silent=True)
        for event in body if isinstance(body, list) else [body]:
            if isinstance(event, dict):
                self.events.setdefault(wa_id, []).append({**event, "timestamp": event.get("timestamp") or time.time()})
        return jsonify({})
