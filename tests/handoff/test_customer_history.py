"""The chat page's past: the customer's earlier chats with the team (their messages) and the bot conversation
before each hand-over, read from Rasa's tracker (played over HTTP) and cut at each chat's start and end."""

import time
from typing import Tuple

import pytest

from tests.handoff.harness import new_customer
from tests.support.handoff_env import Handoff, signed_in
from tests.support.rasa_trackers import TrackerRasa


@pytest.fixture()
def handoff(shared_handoff: Handoff) -> Handoff:
    return shared_handoff


def test_a_second_chat_shows_the_first_with_its_messages_and_each_bot_conversation(
        handoff: Handoff, alice: str, trackers: Tuple[TrackerRasa, str]) -> None:
    rasa, _url = trackers
    for chat_id in handoff.service.chats.agent_chats("alice"):
        handoff.api("POST", f"/api/chats/{chat_id}/resolve", alice)
    customer = new_customer()
    rasa.said(customer, "user", "where is my order 1001?", time.time() - 60)
    rasa.said(customer, "bot", "Order 1001 is on its way.", time.time() - 59)
    first = handoff.escalate(customer).json()["chat_id"]
    handoff.customer_writes(customer, "it is late, I want a person")
    handoff.api("POST", f"/api/chats/{first}/messages", alice, json={"text": "Sorry, I am on it."})
    handoff.api("POST", f"/api/chats/{first}/resolve", alice, json={"resolution": "courier called"})
    rasa.said(customer, "user", "hi again, now the box is damaged", time.time())
    time.sleep(0.01)
    second = handoff.escalate(customer).json()["chat_id"]

    view = handoff.api("GET", f"/api/chats/{second}", alice).json()
    # Before this chat: only what the customer and the bot said since the first chat ended.
    assert [line["text"] for line in view["history"]] == ["hi again, now the box is damaged"]
    [past] = view["earlier_chats"]
    assert (past["chat_id"], past["state"], past["agent"], past["resolution"]) == (first, "resolved", "alice",
                                                                                   "courier called")
    assert [line["text"] for line in past["bot_transcript"]] == ["where is my order 1001?",
                                                                 "Order 1001 is on its way."]
    assert [(m["kind"], m["text"]) for m in past["messages"]] == [
        ("customer", "it is late, I want a person"), ("agent", "Sorry, I am on it.")]
    assert handoff.api("GET", f"/api/chats/{first}", alice).json()["earlier_chats"] == []  # nothing before it

    # The page shows the same, each earlier chat folded until opened.
    browser, _csrf = signed_in(handoff, "alice")
    page = browser.get(f"{handoff.url}/inbox/chats/{second}", timeout=10).text
    assert f'<details data-chat-id="{first}">' in page and "courier called" in page
    assert "Sorry, I am on it." in page and "Order 1001 is on its way." in page


def test_without_rasa_the_page_says_the_bot_transcript_is_unavailable(handoff: Handoff, alice: str,
                                                                      trackers: Tuple[TrackerRasa, str]) -> None:
    for chat_id in handoff.service.chats.agent_chats("alice"):
        handoff.api("POST", f"/api/chats/{chat_id}/resolve", alice)
    customer = new_customer()
    first = handoff.escalate(customer).json()["chat_id"]
    handoff.api("POST", f"/api/chats/{first}/resolve", alice)
    second = handoff.escalate(customer).json()["chat_id"]
    rasa_api = handoff.service.rasa
    url, rasa_api.url = rasa_api.url, "http://127.0.0.1:9"  # nothing listens there
    try:
        view = handoff.api("GET", f"/api/chats/{second}", alice).json()
    finally:
        rasa_api.url, rasa_api._failed_at = url, float("-inf")
    [line] = view["history"]
    assert line["kind"] == "system" and "bot transcript unavailable" in line["text"]
    assert view["earlier_chats"][0]["bot_transcript"] == [line] and view["earlier_chats"][0]["chat_id"] == first
