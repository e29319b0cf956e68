"""A customer's "delete my data" and "send me a copy of my data": the bot explains and asks with two buttons; a
yes records the ticket in a real Redis (or queues the erasure when the setting allows), a no records nothing."""

import logging
from typing import Iterator

import pytest
import redis

from bot.actions.privacy_requests import (
    ActionAskDataCopy,
    ActionAskDataErasure,
    ActionConfirmPrivacyRequest,
    ActionKeepData,
)
from privacy import tickets
from tests.bot.actions.harness import SAM, make_tracker, run, slot, texts


@pytest.fixture()
def client(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("PRIVACY_HASH_KEY", "actions-test-key")
    monkeypatch.delenv("PRIVACY_ERASE_ON_REQUEST", raising=False)
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


def test_the_erasure_is_explained_and_asked_with_yes_and_no_buttons(client: redis.Redis) -> None:
    messages, events = run(ActionAskDataErasure(), make_tracker(intent="request_data_erasure", text="delete my data"))
    said = texts(messages)
    assert "orders, refunds and ratings stay" in said and "never message you again" in said
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert slot(events, "privacy_request") == "erase"
    assert tickets.listed(client) == []  # asking records nothing


def test_yes_records_an_erasure_ticket_for_an_administrator(client: redis.Redis,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    messages, events = run(ActionConfirmPrivacyRequest(),
                           make_tracker(intent="affirm", text="yes", slots={"privacy_request": "erase"}))
    [ticket] = tickets.listed(client)
    assert (ticket.kind, ticket.wa_id, ticket.state, ticket.due_at) == ("erase", SAM, tickets.OPEN, 0.0)
    assert len(ticket.customer) == 64 and SAM not in ticket.customer
    assert "with our privacy team" in texts(messages) and slot(events, "privacy_request") is None
    logged = [r.getMessage() for r in caplog.records]
    assert any("privacy request (erase) of wa:" in line for line in logged)  # the pseudonym, never the number
    assert not [line for line in logged if SAM in line]


def test_with_the_setting_the_erasure_is_queued_to_run_after_this_turn(
        client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_ERASE_ON_REQUEST", "true")
    messages, _ = run(ActionConfirmPrivacyRequest(),
                      make_tracker(intent="affirm", text="yes", slots={"privacy_request": "erase"}))
    [ticket] = tickets.listed(client)
    assert ticket.state == tickets.QUEUED and ticket.due_at > ticket.requested_at
    assert "erased within a minute" in texts(messages) and "last message" in texts(messages)
    assert client.exists(tickets.ticket_key("erase", SAM))


def test_a_copy_request_becomes_a_copy_ticket_even_with_the_setting(
        client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_ERASE_ON_REQUEST", "true")
    asked, events = run(ActionAskDataCopy(), make_tracker(intent="request_data_copy", text="send me my data"))
    assert slot(events, "privacy_request") == "copy" and len(asked[0]["buttons"]) == 2
    messages, _ = run(ActionConfirmPrivacyRequest(),
                      make_tracker(intent="affirm", text="yes", slots={"privacy_request": "copy"}))
    [ticket] = tickets.listed(client)
    assert (ticket.kind, ticket.state) == ("copy", tickets.OPEN)
    assert "within 30 days" in texts(messages)


def test_no_records_nothing(client: redis.Redis) -> None:
    messages, events = run(ActionKeepData(), make_tracker(intent="deny", text="no", slots={"privacy_request": "erase"}))
    assert "nothing changes" in texts(messages) and slot(events, "privacy_request") is None
    assert tickets.listed(client) == [] and client.keys("privacy:*") == []


def test_a_yes_with_nothing_asked_records_nothing(client: redis.Redis) -> None:
    messages, _ = run(ActionConfirmPrivacyRequest(), make_tracker(intent="affirm", text="yes"))
    assert messages[0]["response"] == "utter_how_can_i_help" and tickets.listed(client) == []


def test_redis_down_says_so_and_loses_nothing_silently(client: redis.Redis, monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    messages, events = run(ActionConfirmPrivacyRequest(),
                           make_tracker(intent="affirm", text="yes", slots={"privacy_request": "erase"}))
    assert "couldn't record your request" in texts(messages) and slot(events, "privacy_request") is None
    assert [r for r in caplog.records if r.levelno >= logging.ERROR and "not recorded" in r.getMessage()]
    assert not [r for r in caplog.records if SAM in r.getMessage()]
