"""Unread counts: the customer's messages that came after the agent last opened the chat, per agent."""

import re

import pytest

from handoff import keys
from tests.handoff.harness import chat_with
from tests.support.handoff_env import Handoff, signed_in


@pytest.fixture()
def handoff(shared_handoff: Handoff) -> Handoff:
    return shared_handoff


def unread(handoff: Handoff, token: str, chat_id: str) -> int:
    [row] = [c for c in handoff.api("GET", "/api/chats?mine=1", token).json()["chats"] if c["chat_id"] == chat_id]
    return row["unread"]


def test_customer_messages_after_the_agent_last_looked_count_as_unread(handoff: Handoff, alice: str) -> None:
    customer, chat_id = chat_with(handoff, alice)
    handoff.customer_writes(customer, "hello?")
    handoff.customer_writes(customer, "anyone there?")
    assert unread(handoff, alice, chat_id) == 2  # never opened: every customer message
    handoff.api("GET", f"/api/chats/{chat_id}", alice)  # opened
    assert unread(handoff, alice, chat_id) == 0
    handoff.api("POST", f"/api/chats/{chat_id}/messages", alice, json={"text": "Yes, Alice here."})
    handoff.api("POST", f"/api/chats/{chat_id}/notes", alice, json={"text": "VIP"})
    assert unread(handoff, alice, chat_id) == 0  # the agent's own messages and notes are not unread
    handoff.customer_writes(customer, "great, my order is 1001")
    assert unread(handoff, alice, chat_id) == 1

    browser, csrf = signed_in(handoff, "alice")
    queue = browser.get(f"{handoff.url}/inbox", timeout=10).text
    row = re.search(rf'href="/inbox/chats/{chat_id}">.*?data-unread="(\d+)"', queue, re.S)
    assert row is not None and row.group(1) == "1"
    # The open chat page tells the service it saw a message arrive (the page's script, with the CSRF header).
    assert browser.post(f"{handoff.url}/inbox/chats/{chat_id}/seen", timeout=10).status_code == 400  # no token
    seen = browser.post(f"{handoff.url}/inbox/chats/{chat_id}/seen", headers={"X-CSRFToken": csrf}, timeout=10)
    assert seen.status_code == 204 and unread(handoff, alice, chat_id) == 0
    rita, rita_csrf = signed_in(handoff, "rita")  # another team: may not mark it
    assert rita.post(f"{handoff.url}/inbox/chats/{chat_id}/seen", headers={"X-CSRFToken": rita_csrf},
                     timeout=10).status_code == 404


def test_an_agents_read_record_forgets_chats_whose_records_expired(handoff: Handoff, alice: str) -> None:
    _customer, chat_id = chat_with(handoff, alice)
    chats, seen = handoff.service.chats, handoff.service.redis
    seen.hset(keys.seen("bob"), mapping={"gone-1": 3, "gone-2": 1})  # chats resolved and expired long ago
    chats.mark_seen("bob", chat_id, keep_seconds=60, prune_above=5)
    assert set(seen.hkeys(keys.seen("bob"))) == {"gone-1", "gone-2", chat_id}  # few: nothing to look at
    chats.mark_seen("bob", chat_id, keep_seconds=60, prune_above=1)
    assert seen.hkeys(keys.seen("bob")) == [chat_id] and 0 < seen.ttl(keys.seen("bob")) <= 60
