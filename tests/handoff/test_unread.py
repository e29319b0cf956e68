"""Unread counts: the customer's messages that came after the agent last opened the chat, per agent."""

import re

import pytest

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
