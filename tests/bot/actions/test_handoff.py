"""action_human_handoff against a real HTTP server speaking the escalation contract."""

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from sqlalchemy import select
from werkzeug.wrappers import Request, Response

from bot.actions.handoff import ActionHumanHandoff, conversation_summary
from shop.db import engine_for, session_scope
from shop.models import Ticket
from tests.bot.actions.harness import SAM, make_tracker, run, slot, texts, user_event
from tests.support.helpers import free_port, serve_wsgi

TOKEN = "handoff-test-token"


class EscalationService:
    """Answers POST /api/escalations with the next queued (status, body); records every request."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.answers: List[Tuple[int, Any]] = []

    def __call__(self, environ: Dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(
            {"path": request.path, "method": request.method, "auth": request.headers.get("Authorization"),
             "json": request.get_json(silent=True)}
        )
        status, body = self.answers.pop(0) if self.answers else (500, {"error": "no answer queued"})
        text = body if isinstance(body, str) else json.dumps(body)
        return Response(text, status=status, content_type="application/json")(environ, start_response)


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EscalationService]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("HANDOFF_API_TOKEN", TOKEN)
    engine_for(url)
    app = EscalationService()
    with serve_wsgi(app) as base_url:
        monkeypatch.setenv("HANDOFF_URL", base_url)
        yield app


def answer(state: str = "queued", position: Any = 3, wait: Any = 240, open_: bool = True,
           opens_at: Any = None) -> Dict[str, Any]:
    return {"chat_id": "chat-42", "state": state, "position": position, "expected_wait_seconds": wait,
            "team": "care", "office_hours": {"open": open_, "opens_at": opens_at}}


def handoff_tracker(**kwargs: Any):
    history = [user_event("order_status", "where is my order 1001"), user_event("complaint", "it is late again")]
    defaults = dict(intent="human_handoff", text="I want to talk to a person", history=history,
                    slots={"order_id": "1001", "requested_slot": None, "pending_cancel": None})
    defaults.update(kwargs)
    return make_tracker(**defaults)


def tickets(tmp_path: Path) -> List[Ticket]:
    with session_scope(engine_for(f"sqlite:///{tmp_path / 'shop.db'}")) as session:
        return list(session.execute(select(Ticket)).scalars())


def test_request_follows_the_contract_and_the_queue_is_explained(service: EscalationService):
    service.answers.append((201, answer()))
    messages, events = run(ActionHumanHandoff(), handoff_tracker())
    request = service.requests[0]
    assert (request["method"], request["path"], request["auth"]) == ("POST", "/api/escalations", f"Bearer {TOKEN}")
    body = request["json"]
    assert body["customer"] == SAM and body["profile_name"] == "Sam Lee"
    assert body["reason"] == "customer_request"
    assert body["intent"] == "complaint"
    assert body["slots"] == {"order_id": "1001"}
    assert body["summary"] == "where is my order 1001 | it is late again | I want to talk to a person"
    assert set(body) == {"customer", "profile_name", "reason", "intent", "slots", "summary"}
    assert "number 3 in the queue" in texts(messages) and "about 4 minutes" in texts(messages)
    assert slot(events, "handoff_chat_id") == "chat-42"


def test_reason_comes_from_the_button_that_offered_a_person(service: EscalationService):
    service.answers.append((200, answer(state="agent", position=None, wait=None)))
    messages, _ = run(ActionHumanHandoff(), handoff_tracker(entities=[("handoff_reason", "fallback")],
                                                            text='/human_handoff{"handoff_reason":"fallback"}'))
    assert service.requests[0]["json"]["reason"] == "fallback"
    assert "A person will reply here in a moment" in texts(messages)


def test_out_of_office_hours_says_when_and_gives_the_ticket(service: EscalationService):
    service.answers.append((201, answer(position=1, wait=None, open_=False, opens_at="2026-11-25T09:00:00+00:00")))
    messages, _ = run(ActionHumanHandoff(), handoff_tracker())
    text = texts(messages)
    assert "offline" in text and "Wed 25 Nov at 09:00 UTC" in text and "ticket chat-42" in text


@pytest.mark.parametrize(
    "status, body",
    [(500, {"error": "boom"}), (503, "<html>unavailable</html>"), (401, {"error": "bad token"}),
     (201, "not json"), (201, {"state": "queued"})],
)
def test_service_failures_open_a_ticket_and_are_logged(
    service: EscalationService, tmp_path: Path, caplog: pytest.LogCaptureFixture, status: int, body: Any
):
    service.answers.append((status, body))
    messages, _ = run(ActionHumanHandoff(), handoff_tracker(wamid="wamid.handoff-1"))
    [ticket] = tickets(tmp_path)
    assert ticket.kind == "handoff" and ticket.wa_id == SAM and ticket.order_number == "1001"
    assert "[customer_request]" in ticket.summary and "it is late again" in ticket.summary
    assert f"ticket #{ticket.id}" in texts(messages) and "can't reach our team's system" in texts(messages)
    assert any(r.levelname == "ERROR" and "handoff service unavailable" in r.getMessage() for r in caplog.records)
    assert not any(SAM in r.getMessage() for r in caplog.records)  # a keyed pseudonym, never the number

    service.answers.append((status, body))  # the same message delivered again: still one ticket
    run(ActionHumanHandoff(), handoff_tracker(wamid="wamid.handoff-1"))
    assert len(tickets(tmp_path)) == 1


def test_unreachable_service_opens_a_ticket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("HANDOFF_URL", f"http://127.0.0.1:{free_port()}")
    messages, _ = run(ActionHumanHandoff(), handoff_tracker())
    assert "I've opened ticket #1" in texts(messages)
    assert len(tickets(tmp_path)) == 1


def test_service_and_database_both_down_still_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"garbage" * 500)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{broken}")
    monkeypatch.setenv("HANDOFF_URL", f"http://127.0.0.1:{free_port()}")
    messages, _ = run(ActionHumanHandoff(), handoff_tracker())
    assert "can't reach our team right now" in texts(messages)


def test_summary_keeps_the_last_typed_messages_only():
    history = [user_event("greet", f"message {i}") for i in range(6)] + [user_event("affirm", "/affirm")]
    tracker = make_tracker(intent="human_handoff", text="agent please", history=history)
    assert conversation_summary(tracker) == "message 3 | message 4 | message 5 | agent please"
