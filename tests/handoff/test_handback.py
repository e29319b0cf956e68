"""Handing the customer back to the bot: exactly once per resolve, never into a newer chat, never hours
late. Rasa's HTTP API is played by a small recording server (the calls and the tracker events the
handoff service reads), so the tests can make it slow; the whole path with the real Rasa is in
tests/e2e/test_handoff_e2e.py."""

import threading
import time
from typing import Any, Dict, Iterator, List

import pytest
from flask import Flask, jsonify, request

from handoff.rasa_api import HANDBACK_INTENT
from tests.support.handoff_env import Handoff, running_handoff
from tests.support.helpers import serve_wsgi

CUSTOMER = "15556660001"


class RecordingRasa:
    """Rasa's conversation endpoints: records every trigger_intent as Rasa does (a user event)."""

    def __init__(self) -> None:
        self.triggers: List[Dict[str, Any]] = []
        self.delay = 0.0  # seconds before answering a trigger_intent (the event is recorded first)
        self.app = Flask("rasa")
        self.app.add_url_rule("/conversations/<wa_id>/tracker/events", "events", lambda wa_id: jsonify({}),
                              methods=["POST"])
        self.app.add_url_rule("/conversations/<wa_id>/trigger_intent", "trigger", self.trigger, methods=["POST"])
        self.app.add_url_rule("/conversations/<wa_id>/tracker", "tracker", self.tracker)

    def trigger(self, wa_id: str) -> Any:
        self.triggers.append({"wa_id": wa_id, **(request.get_json() or {})})
        time.sleep(self.delay)
        return jsonify({})

    def tracker(self, wa_id: str) -> Any:
        events = [{"event": "user", "timestamp": time.time(), "parse_data": {"intent": {"name": t["name"]}}}
                  for t in self.triggers if t["wa_id"] == wa_id]
        return jsonify({"events": events})


@pytest.fixture()
def rasa() -> Iterator[tuple[RecordingRasa, str]]:
    recording = RecordingRasa()
    with serve_wsgi(recording.app) as url:
        yield recording, url


@pytest.fixture()
def handoff(redis_url: str, rasa: tuple[RecordingRasa, str]) -> Iterator[Handoff]:
    with running_handoff(redis_url, RASA_URL=rasa[1]) as running:
        yield running


def resolved_chat(handoff: Handoff) -> str:
    alice = handoff.login("alice")
    handoff.api("PUT", "/api/me/status", token=alice, json={"status": "online"})
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    assert handoff.service.chats.chat(chat_id)["agent"] == "alice"
    return chat_id


def test_a_resolve_and_a_background_tick_hand_back_once(handoff: Handoff, rasa: tuple[RecordingRasa, str]) -> None:
    recording, _ = rasa
    recording.delay = 1.0  # the tick runs while the resolving request waits for Rasa
    chat_id = resolved_chat(handoff)
    ticking = threading.Thread(target=lambda: (time.sleep(0.3), handoff.service.tick()))
    ticking.start()
    alice = handoff.login("alice")
    assert handoff.api("POST", f"/api/chats/{chat_id}/resolve", token=alice, json={}).status_code == 200
    ticking.join()
    handoff.service.tick(now=time.time() + 600)
    assert [t["name"] for t in recording.triggers] == [HANDBACK_INTENT]
    assert handoff.service.pending_handbacks() == []


def test_a_slow_rasa_that_took_the_first_try_gets_no_second(handoff: Handoff,
                                                            rasa: tuple[RecordingRasa, str]) -> None:
    recording, _ = rasa
    handoff.service.rasa.timeout = 0.5
    recording.delay = 1.5  # Rasa runs the hand back but answers after the client gave up
    chat_id = resolved_chat(handoff)
    handoff.api("POST", f"/api/chats/{chat_id}/resolve", token=handoff.login("alice"), json={})
    [pending] = handoff.service.pending_handbacks()
    assert pending["attempts"] == 1
    recording.delay = 0
    handoff.service.tick(now=pending["next_attempt_at"] + 1)
    assert len(recording.triggers) == 1 and handoff.service.pending_handbacks() == []
    assert handoff.service.chats.chat(chat_id).get("handed_back_at")


def test_a_retried_hand_back_never_lands_in_the_customers_next_chat(handoff: Handoff,
                                                                    rasa: tuple[RecordingRasa, str]) -> None:
    recording, url = rasa
    handoff.service.rasa.url = "http://127.0.0.1:9"  # Rasa down while the agent resolves
    chat_id = resolved_chat(handoff)
    handoff.api("POST", f"/api/chats/{chat_id}/resolve", token=handoff.login("alice"), json={})
    [pending] = handoff.service.pending_handbacks()
    newer = handoff.escalate(CUSTOMER).json()["chat_id"]  # the customer asks for a person again
    handoff.service.rasa.url = url
    handoff.service.tick(now=pending["next_attempt_at"] + 1)
    assert recording.triggers == [] and handoff.service.pending_handbacks() == []
    assert "superseded" in handoff.service.chats.chat(chat_id)["handback_error"]
    assert handoff.service.chats.owner(CUSTOMER)["chat_id"] == newer


def test_a_hand_back_too_late_is_dropped(handoff: Handoff, rasa: tuple[RecordingRasa, str]) -> None:
    recording, url = rasa
    handoff.service.rasa.url = "http://127.0.0.1:9"
    chat_id = resolved_chat(handoff)
    handoff.api("POST", f"/api/chats/{chat_id}/resolve", token=handoff.login("alice"), json={})
    handoff.service.rasa.url = url
    handoff.service.tick(now=time.time() + handoff.service.settings.handback_max_age + 60)
    assert recording.triggers == [] and handoff.service.pending_handbacks() == []
    assert "expired" in handoff.service.chats.chat(chat_id)["handback_error"]
