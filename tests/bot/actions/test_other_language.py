"""action_other_language against the real handoff service (real Redis): one message in the customer's
language, and an escalation that carries it."""

from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from sqlalchemy import select

from bot.actions.handoff import ActionHumanHandoff
from bot.actions.language_replies import ENGLISH_REPLY, REPLIES
from bot.actions.other_language import ActionOtherLanguage
from shop.db import engine_for, session_scope
from shop.models import Ticket
from tests.bot.actions.harness import SAM, make_tracker, run, slot
from tests.support.handoff_env import API_TOKEN, Handoff, running_handoff
from tests.support.helpers import free_port

SPANISH = REPLIES["es"][1]


@pytest.fixture()
def shop_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    engine_for(url)
    return url


@pytest.fixture()
def handoff(redis_url: str, shop_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Handoff]:
    with running_handoff(redis_url) as running:
        monkeypatch.setenv("HANDOFF_URL", running.url)
        monkeypatch.setenv("HANDOFF_API_TOKEN", API_TOKEN)
        yield running


def spanish_tracker(**kwargs: Any):
    parse = {"language": {"code": "es", "confidence": 0.97, "supported": False}}
    tracker = make_tracker(intent="other_language", text="quiero cancelar mi pedido", entities=[("language", "es")],
                           **kwargs)
    tracker.latest_message.update(parse)
    tracker.events[-1]["parse_data"].update(parse)
    return tracker


def open_chat(handoff: Handoff) -> Dict[str, str]:
    owner = handoff.service.chats.owner(SAM)
    assert owner["state"] == "queued", owner
    return handoff.service.chats.chat(owner["chat_id"])


def test_the_customer_gets_one_message_in_their_language_and_the_team_gets_the_language(handoff: Handoff) -> None:
    messages, events = run(ActionOtherLanguage(), spanish_tracker())
    assert [m.get("text") for m in messages] == [SPANISH]
    assert slot(events, "customer_language") == "es"
    chat = open_chat(handoff)
    assert chat["language"] == "es" and chat["reason"] == "language"
    assert "quiero cancelar mi pedido" in chat["summary"]


def test_the_message_is_not_repeated_to_a_customer_who_writes_again(handoff: Handoff) -> None:
    told = spanish_tracker()
    told.events.insert(-1, {"event": "bot", "text": SPANISH})
    messages, _ = run(ActionOtherLanguage(), told)
    assert messages == []
    assert open_chat(handoff)["language"] == "es"  # still escalated


def test_a_language_without_a_reply_of_its_own_gets_the_english_one(handoff: Handoff) -> None:
    messages, _ = run(ActionOtherLanguage(), make_tracker(intent="other_language", text="waar is mijn bestelling",
                                                          entities=[("language", "nl")]))
    assert [m.get("text") for m in messages] == [ENGLISH_REPLY]
    assert open_chat(handoff)["language"] == "nl"


def test_when_the_service_is_down_a_ticket_keeps_the_request(shop_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens
    messages, _ = run(ActionOtherLanguage(), spanish_tracker())
    assert [m.get("text") for m in messages] == [SPANISH]
    with session_scope(engine_for(shop_url)) as session:
        [ticket] = session.scalars(select(Ticket)).all()
        assert ticket.kind == "handoff" and "[language es]" in ticket.summary


def test_a_later_request_for_a_person_carries_the_language_too(handoff: Handoff) -> None:
    earlier = spanish_tracker().events
    tracker = make_tracker(intent="human_handoff", text="agent", history=earlier)
    run(ActionHumanHandoff(), tracker)
    assert open_chat(handoff)["language"] == "es"


@pytest.mark.parametrize("code", sorted(REPLIES))
def test_every_reply_is_short_and_in_its_own_words(code: str) -> None:
    name, text = REPLIES[code]
    assert name and 20 < len(text) <= 160  # one short WhatsApp message
    assert text != ENGLISH_REPLY and list(REPLIES.values()).count((name, text)) == 1
