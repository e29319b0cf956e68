"""Logs above debug level never carry a customer's number (with or without +) nor their message text: flows
that log about a customer run against the real components and every captured record is searched.

The sender's failure path (the stand-in refuses a message for good) and the handoff service's talk with a
Rasa that refuses (its errors name the conversation's path) are the places that used to log the number."""

import logging
from typing import Any, Iterator

import pytest
from flask import Flask, request

from tests.support.handoff_env import Handoff, running_handoff
from tests.support.helpers import serve_wsgi
from tests.support.policy_harness import standin
from tests.support.sender_harness import CUSTOMER, inject, text, with_sender
from whatsapp_cloud.outbound.sender import OutboundSender

SECRET_TEXT = "my card ends in 4242 and I live at Hauptstr. 1"


HARNESS = ("werkzeug",)  # the tests' own HTTP servers; gunicorn's access log is scrubbed (handoff/access_log.py)


def leaks(records: list, number: str, *texts: str) -> list:
    return [r.getMessage() for r in records if r.levelno > logging.DEBUG and r.name not in HARNESS
            and any(found in r.getMessage() for found in (number, SECRET_TEXT, *texts))]


@pytest.fixture()
def graph() -> Iterator[Any]:
    with standin() as served:
        yield served


def test_a_message_that_cannot_be_sent_is_logged_without_the_number(graph, redis_url: str,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    url, _ = graph
    inject(url, [{"code": 131026, "http_status": 400, "details": "Message undeliverable"}])
    caplog.set_level(logging.DEBUG)

    async def work(sender: OutboundSender) -> Any:
        return await sender.send(text(SECRET_TEXT), label="utter_greet")

    assert with_sender(url, redis_url, work) is None
    assert any("not sent" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert any(CUSTOMER in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)  # seen, at debug
    assert leaks(caplog.records, CUSTOMER) == []


def refusing_rasa() -> Flask:
    """A Rasa whose model lacks the hand-back intent: 4xx answers that quote what they were sent."""
    app = Flask("rasa")

    @app.route("/conversations/<wa_id>/<path:rest>", methods=["GET", "POST"])
    def refuse(wa_id: str, rest: str) -> Any:
        quoted = request.get_data(as_text=True)[:150]
        return {"message": f"cannot handle {wa_id}: {quoted}", "reason": "BadRequest"}, 400

    return app


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with serve_wsgi(refusing_rasa()) as rasa, running_handoff(redis_url, RASA_URL=rasa) as running:
        yield running


def test_the_handoff_service_logs_a_refusing_rasa_without_the_number(handoff: Handoff,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    number = "4915112340099"
    caplog.set_level(logging.DEBUG)
    alice = handoff.login("alice")
    handoff.api("PUT", "/api/me/status", alice, json={"status": "online"})
    chat_id = handoff.escalate(number).json()["chat_id"]
    handoff.customer_writes(number, SECRET_TEXT)
    assert handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json={"text": "Checking."}).status_code == 201
    assert handoff.api("POST", f"/api/chats/{chat_id}/resolve", alice, json={}).status_code == 200
    refused = [r for r in caplog.records if "Rasa refused" in r.getMessage()]
    assert refused and all("wa:" in r.getMessage() and "BadRequest" in r.getMessage() for r in refused)
    assert leaks(caplog.records, number, "Checking.") == []
