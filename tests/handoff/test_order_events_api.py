"""The shop's order events through `POST /api/order-events`: the database updated when asked, the bot asked to tell
the customer exactly once per event, nothing lost when Rasa is down. The handoff service, Redis and the order
database (SQLite with the demo orders) are real; Rasa's HTTP API is a small recording server, so the test can
take it down (the whole path with the real bot and the stand-in is in tests/e2e/test_e2e_policy.py)."""

from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from flask import Flask, jsonify, request
from sqlalchemy import select

from shop.db import engine_for
from shop.models import Order, Refund
from tests.support.handoff_env import Handoff, running_handoff
from tests.support.helpers import serve_wsgi


class RecordingRasa:
    def __init__(self) -> None:
        self.triggers: List[Dict[str, Any]] = []
        self.down = False
        self.app = Flask("rasa")
        self.app.add_url_rule("/conversations/<wa_id>/trigger_intent", "trigger", self.trigger, methods=["POST"])

    def trigger(self, wa_id: str) -> Any:
        if self.down:
            return jsonify(reason="ServiceUnavailable"), 503
        self.triggers.append({"wa_id": wa_id, "output_channel": request.args.get("output_channel"),
                              **(request.get_json() or {})})
        return jsonify({})


@pytest.fixture()
def rasa() -> Iterator[tuple]:
    recording = RecordingRasa()
    with serve_wsgi(recording.app) as url:
        yield recording, url


@pytest.fixture()
def handoff(redis_url: str, rasa: tuple, tmp_path: Path) -> Iterator[Handoff]:
    with running_handoff(redis_url, RASA_URL=rasa[1], DATABASE_URL=f"sqlite:///{tmp_path / 'shop.db'}") as running:
        yield running


def test_an_order_event_updates_the_order_and_tells_the_customer_once(handoff: Handoff, rasa: tuple) -> None:
    recording, _ = rasa
    event = {"order_id": "A-10023", "state": "delivered", "update_shop": True}
    answer = handoff.api("POST", "/api/order-events", json=event)
    assert answer.status_code == 201, answer.text
    assert answer.json()["event"] == {"order_id": "A-10023", "state": "delivered", "wa_id": "15551230001",
                                      "previous": "out_for_delivery", "notified": True, "duplicate": False}
    assert recording.triggers == [{"wa_id": "15551230001", "output_channel": "whatsapp",
                                   "name": "EXTERNAL_order_update", "entities": {"order_id": "A-10023"}}]
    engine = engine_for(handoff.env["DATABASE_URL"], seed=False)
    with engine.connect() as db:
        assert db.execute(select(Order.status).where(Order.number == "A-10023")).scalar_one() == "delivered"

    again = handoff.api("POST", "/api/order-events", json=event)  # the shop's system sends it again
    assert again.status_code == 200 and again.json()["event"]["duplicate"] is True
    assert len(recording.triggers) == 1

    refund = handoff.api("POST", "/api/order-events", json={"order_id": 1009, "state": "refund_approved",
                                                            "update_shop": True})
    assert refund.status_code == 201 and refund.json()["event"]["previous"] == "requested"
    assert recording.triggers[-1]["name"] == "EXTERNAL_refund_update"
    assert recording.triggers[-1]["entities"] == {"order_id": "1009"}
    with engine.connect() as db:
        assert db.execute(select(Refund.status).join(Order).where(Order.number == "1009")).scalar_one() == "approved"


def test_bad_events_and_a_bot_that_is_down_lose_nothing(handoff: Handoff, rasa: tuple) -> None:
    recording, _ = rasa
    for body, status, says in [
        ({"order_id": "1001", "state": "teleported"}, 400, "unknown event 'teleported'"),
        ({"order_id": "9999", "state": "shipped"}, 404, "no order 9999"),
        ({"order_id": "1002", "state": "refund_approved", "update_shop": True}, 409, "has no refund request"),
        ({"state": "shipped"}, 400, "'order_id' and 'state' are required"),
    ]:
        answer = handoff.api("POST", "/api/order-events", json=body)
        assert (answer.status_code, says in answer.json()["error"]) == (status, True), answer.text
    alice = handoff.login("alice")
    assert handoff.api("POST", "/api/order-events", token=alice,
                       json={"order_id": "1001", "state": "shipped"}).status_code == 401
    assert recording.triggers == []

    recording.down = True
    event = {"order_id": "1001", "state": "out_for_delivery", "update_shop": True}
    answer = handoff.api("POST", "/api/order-events", json=event)
    assert answer.status_code == 503 and "try again" in answer.json()["error"]
    recording.down = False
    answer = handoff.api("POST", "/api/order-events", json=event)  # the shop retries: sent now, once
    assert answer.status_code == 201 and answer.json()["event"]["notified"] is True
    assert [t["entities"]["order_id"] for t in recording.triggers] == ["1001"]
    # A second shipment of the same order, named by the shop's own event id, is a new event.
    second = handoff.api("POST", "/api/order-events", json={**event, "event_id": "shipment-2"})
    assert second.status_code == 201 and len(recording.triggers) == 2
