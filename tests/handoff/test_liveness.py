"""Nothing stuck: a bad queue entry, a pause of the service, a hung Rasa, agents holding chats while
gone, and data that would otherwise be kept for ever. Real Redis, real HTTP."""

import threading
import time
from typing import Iterator

import pytest
from flask import Flask

from handoff import keys
from tests.support.handoff_env import Handoff, running_handoff
from tests.support.helpers import serve_wsgi

CUSTOMER = "15558880001"


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url) as running:
        yield running


def online(handoff: Handoff, username: str) -> str:
    token = handoff.login(username)
    handoff.api("PUT", "/api/me/status", token=token, json={"status": "online"})
    return token


def test_a_queue_entry_without_its_chat_is_skipped_and_removed(handoff: Handoff) -> None:
    store = handoff.service.redis
    store.zadd(keys.queue("orders"), {"c-missing": 1.0})  # e.g. the record was deleted by hand
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    online(handoff, "alice")
    finished = threading.Event()
    worker = threading.Thread(target=lambda: (handoff.service.router.assign_waiting("orders"), finished.set()),
                              daemon=True)
    worker.start()
    assert finished.wait(10), "assignment loops on the bad entry"
    assert store.zscore(keys.queue("orders"), "c-missing") is None
    assert handoff.service.chats.chat(chat_id)["agent"] == "alice"


def test_presence_does_not_lapse_while_the_service_itself_was_gone(handoff: Handoff) -> None:
    online(handoff, "alice")
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    seen = handoff.service.redis.zscore(keys.PRESENCE, "alice")
    handoff.service.tick(now=seen + 1)
    # No worker ran for ten minutes (Redis down, a deploy): nobody's page could report them present.
    handoff.service.tick(now=seen + 600)
    assert handoff.agents.get("alice").status == "online"  # type: ignore[union-attr]
    assert handoff.service.chats.chat(chat_id)["agent"] == "alice"
    # Back up, and a full presence period later alice has still not shown up: now she is away.
    for after in range(620, 800, 20):
        handoff.service.tick(now=seen + after)
    assert handoff.agents.get("alice").status == "away"  # type: ignore[union-attr]


def test_an_agent_who_is_away_but_holds_chats_is_covered_by_presence(handoff: Handoff) -> None:
    alice = handoff.login("alice")
    handoff.api("PUT", "/api/me/status", token=alice, json={"status": "away"})
    chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
    assert handoff.api("POST", f"/api/chats/{chat_id}/claim", token=alice).status_code == 200  # away, yet hers
    seen = handoff.service.redis.zscore(keys.PRESENCE, "alice")
    for after in range(0, 200, 20):  # then she closes the laptop
        handoff.service.tick(now=seen + after)
    assert handoff.service.chats.chat(chat_id)["state"] == "queued"


def test_a_hung_rasa_holds_up_neither_pages_nor_background_work(redis_url: str) -> None:
    hung = Flask("hung")
    release = threading.Event()
    hung.add_url_rule("/<path:anything>", "any", lambda anything: (release.wait(30), ("", 200))[1],
                      methods=["GET", "POST"])
    with serve_wsgi(hung) as rasa_url, running_handoff(redis_url, RASA_URL=rasa_url) as handoff:
        try:
            alice = online(handoff, "alice")
            handoff.service.rasa.timeout = 2.0
            chats = []
            for n in range(5):
                chat_id = handoff.escalate(f"1555888100{n}").json()["chat_id"]
                if handoff.service.chats.chat(chat_id)["state"] == "agent":
                    chats.append(chat_id)
            started = time.monotonic()
            page = handoff.api("GET", f"/api/chats/{chats[0]}", token=alice)
            assert page.status_code == 200 and time.monotonic() - started < 5  # 3 s for the transcript at most
            started = time.monotonic()
            assert handoff.api("GET", f"/api/chats/{chats[1]}", token=alice).status_code == 200
            assert time.monotonic() - started < 1  # Rasa just failed: not asked again for a while
            for chat_id in chats:  # resolves answer at once; the hand backs wait for the background
                handoff.service.redis.zadd(keys.HANDBACK_PENDING, {chat_id: 0})
            started = time.monotonic()
            handoff.service.tick_handbacks()
            assert time.monotonic() - started < 5, "one timeout per round, not one per hand back"
            started = time.monotonic()
            handoff.service.tick_routing()
            assert time.monotonic() - started < 1
        finally:
            release.set()


def test_resolved_chats_and_histories_are_kept_only_as_long_as_retention_says(redis_url: str) -> None:
    with running_handoff(redis_url, HANDOFF_RETENTION_DAYS="2") as handoff:
        alice = online(handoff, "alice")
        chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
        handoff.api("POST", f"/api/chats/{chat_id}/notes", token=alice, json={"text": "n"})
        handoff.api("POST", f"/api/chats/{chat_id}/resolve", token=alice, json={})
        store = handoff.service.redis
        for key in (keys.chat(chat_id), keys.messages(chat_id), keys.history(CUSTOMER),
                    keys.customer_chats(CUSTOMER)):
            assert 0 < store.ttl(key) <= 2 * 86400, key
        store.rpush(keys.history(CUSTOMER), *["{}"] * 260)
        handoff.escalate(CUSTOMER)
        chat_id = handoff.service.chats.owner(CUSTOMER)["chat_id"]
        assert store.ttl(keys.chat(chat_id)) == -1  # an open chat is never expired
        handoff.api("POST", f"/api/chats/{chat_id}/resolve", token=alice, json={})
        assert store.llen(keys.history(CUSTOMER)) == 200
