"""The handoff service's export and erasure endpoints over real HTTP, with a real Redis, a SQLite order database
and a media directory: only an administrator's own token may use them, the erasure needs the number repeated
and waits for an open chat to be resolved, and afterwards the number is in no Redis key, row or file."""

import json
from pathlib import Path
from typing import Iterator

import pytest
import redis

from privacy import tickets
from privacy.identity import Subject
from shop.db import engine_for, session_scope
from shop.models import Customer
from stack import handoff_keys
from tests.support.handoff_env import PASSWORD, Handoff, running_handoff

WA = "4915112340042"
INVOICE = "invoice-7f3a9c.pdf"


@pytest.fixture()
def handoff(redis_url: str, tmp_path: Path) -> Iterator[Handoff]:
    media = tmp_path / "media"
    media.mkdir()
    database = f"sqlite:///{tmp_path / 'app.db'}"
    with running_handoff(redis_url, DATABASE_URL=database, MEDIA_DIR=str(media),
                         PRIVACY_HASH_KEY="api-test-key") as running:
        running.agents.create("ada", PASSWORD, name="Ada", role="admin", teams=("general",), capacity=2)
        with session_scope(engine_for(database, seed=False)) as session:
            session.add(Customer(wa_id=WA, name="Mia Weber", email="mia@example.test"))
        (media / INVOICE).write_bytes(b"%PDF-1.4 invoice")
        # The bot's tracker links the invoice, which is how an erasure knows the file is the customer's.
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        client.set(f"wabot:tracker:{WA}", json.dumps({"sender_id": WA, "events": [
            {"event": "bot", "data": {"custom": {"document": {"link": f"https://shop.test/media/{INVOICE}"}}}}]}))
        client.close()
        yield running


def chat_with_alice(handoff: Handoff) -> str:
    alice = handoff.login("alice")
    assert handoff.api("PUT", "/api/me/status", alice, json={"status": "online"}).status_code == 200
    chat_id = handoff.escalate(WA).json()["chat_id"]
    assert handoff.customer_writes(WA, f"call me on +{WA}").status_code == 200
    return chat_id


def resolve(handoff: Handoff, chat_id: str) -> None:
    alice = handoff.login("alice")
    assert handoff.api("POST", f"/api/chats/{chat_id}/resolve", alice, json={"resolution": "done"}).status_code == 200


def traces(client: redis.Redis) -> list:
    """Keys whose name or dumped value holds the number (any type: DUMP is Redis's own serialisation)."""
    return [key for key in client.scan_iter(count=1000)
            if WA in key or WA.encode() in (client.dump(key) or b"")]


def test_agents_supervisors_and_the_integration_token_may_neither_export_nor_erase(handoff: Handoff) -> None:
    chat_id = chat_with_alice(handoff)
    resolve(handoff, chat_id)
    for token in (handoff.login("alice"), handoff.login("sam"), handoff.env["HANDOFF_API_TOKEN"]):
        assert handoff.api("GET", f"/api/customers/{WA}/export", token).status_code == 403
        refused = handoff.api("POST", f"/api/customers/{WA}/erase", token, json={"confirm": WA})
        assert refused.status_code == 403, refused.text
    assert handoff.api("GET", f"/api/customers/{WA}/export", "not-a-token").status_code == 401
    for token in (handoff.login("alice"), handoff.login("sam"), handoff.env["HANDOFF_API_TOKEN"]):
        assert handoff.api("GET", "/api/privacy-requests", token).status_code == 403
    assert handoff.service.chats.chat(chat_id)  # nothing erased


def test_an_admin_exports_the_customer_as_one_json_document(handoff: Handoff) -> None:
    chat_id = chat_with_alice(handoff)
    answer = handoff.api("GET", f"/api/customers/+{WA}/export", handoff.login("ada"))
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    document = answer.json()
    assert document["customer"] == WA
    keys = {k["key"] for k in document["redis"]["keys"]}
    assert {handoff_keys.chat(chat_id), handoff_keys.messages(chat_id), f"wabot:tracker:{WA}"} <= keys
    assert [c["name"] for c in document["order_database"]["customers"]] == ["Mia Weber"]
    assert document["media"] == [{"name": INVOICE, "bytes": 16}]
    assert handoff.api("GET", "/api/customers/not-a-number/export", handoff.login("ada")).status_code == 400


def test_an_admin_erases_after_confirming_and_once_the_chat_is_resolved(handoff: Handoff, redis_url: str) -> None:
    chat_id = chat_with_alice(handoff)
    ada = handoff.login("ada")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    tickets.record(client, Subject.of(WA, "api-test-key"), tickets.ERASE)  # asked in the chat
    [asked] = handoff.api("GET", "/api/privacy-requests", ada).json()["requests"]
    assert (asked["kind"], asked["wa_id"], asked["state"]) == ("erase", WA, "open")
    assert traces(client)  # the scan sees the customer before

    unconfirmed = handoff.api("POST", f"/api/customers/{WA}/erase", ada, json={"confirm": "4915112340043"})
    assert unconfirmed.status_code == 400 and "repeat" in unconfirmed.json()["error"]
    assert handoff.api("POST", f"/api/customers/{WA}/erase", ada, json={}).status_code == 400
    with_agent = handoff.api("POST", f"/api/customers/{WA}/erase", ada, json={"confirm": WA})
    assert with_agent.status_code == 409 and "open chat" in with_agent.json()["error"]
    assert handoff.service.chats.chat(chat_id)["state"] == "agent"  # the live chat is untouched

    resolve(handoff, chat_id)
    erased = handoff.api("POST", f"/api/customers/{WA}/erase", ada, json={"confirm": f"+{WA}"})
    assert erased.status_code == 200, erased.text
    receipt = erased.json()["receipt"]
    assert receipt["by"] == "ada" and WA not in json.dumps(receipt)
    assert receipt["redis"]["handoff chats"]["keys"] >= 1 and receipt["redis"]["rasa tracker"] == {"keys": 1}
    assert receipt["order_database"]["customers"] == {"anonymised": 1}
    assert receipt["media"] == {"files deleted": 1}
    assert receipt["append_only_file"]["status"] == "ok"

    assert traces(client) == []
    assert handoff.api("GET", "/api/privacy-requests", ada).json() == {"requests": []}  # erased with the rest
    assert not (Path(handoff.env["MEDIA_DIR"]) / INVOICE).exists()
    kept = client.xrange("privacy:erasures")
    assert json.loads(kept[-1][1]["receipt"])["customer"] == receipt["customer"]
    client.close()
