"""The webhook subscriptions API (administrators and the integration token) on a real Redis: the secret is
in the answer that makes it and nowhere else; bad URLs and event types are refused with the reason; the
delivery log and the dead letters with their re-send; an agent may not touch any of it."""

from typing import Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from handoff.app import create_app
from outgoing_webhooks import keys
from tests.support.handoff_env import API_TOKEN, PASSWORD
from tests.support.redis_process import RedisProcess

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture(scope="module")
def app(redis_proc: RedisProcess) -> Flask:
    return create_app({"REDIS_URL": redis_proc.url, "HANDOFF_API_TOKEN": API_TOKEN, "HANDOFF_SECRET_KEY": "k",
                       "HANDOFF_BACKGROUND": "false", "WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "1"})


@pytest.fixture()
def client(app: Flask, redis_url: str) -> Iterator[FlaskClient]:
    """The service's client; Redis is emptied after each test (redis_url flushes it)."""
    yield app.test_client()


def test_subscriptions_are_made_read_changed_and_deleted_with_the_secret_shown_once(client: FlaskClient) -> None:
    made = client.post("/api/webhook-subscriptions", headers=AUTH, json={
        "url": "https://crm.example.com/hooks", "events": ["chat.resolved", "ticket.created"], "description": "CRM"})
    assert made.status_code == 201
    sub = made.json["subscription"]
    assert len(sub["secret"]) >= 40 and sub["events"] == ["ticket.created", "chat.resolved"]
    for answer in (client.get("/api/webhook-subscriptions", headers=AUTH),
                   client.get(f"/api/webhook-subscriptions/{sub['id']}", headers=AUTH)):
        assert answer.status_code == 200 and sub["secret"] not in answer.get_data(as_text=True)
    changed = client.patch(f"/api/webhook-subscriptions/{sub['id']}", headers=AUTH,
                           json={"active": False, "events": ["csat.received"]})
    now = changed.json["subscription"]
    assert (now["active"], now["events"]) == (False, ["csat.received"])
    rotated = client.post(f"/api/webhook-subscriptions/{sub['id']}/secret", headers=AUTH).json["subscription"]
    assert rotated["secret"] != sub["secret"]
    assert client.get(f"/api/webhook-subscriptions/{sub['id']}/deliveries", headers=AUTH).json == {"deliveries": []}
    assert client.delete(f"/api/webhook-subscriptions/{sub['id']}", headers=AUTH).status_code == 204
    assert client.get(f"/api/webhook-subscriptions/{sub['id']}", headers=AUTH).status_code == 404


BAD = [({"url": "ftp://crm.example.com/", "events": ["chat.resolved"]}, "http(s) URL"),
       ({"url": "https://user:pw@crm.example.com/", "events": ["chat.resolved"]}, "credentials"),
       ({"url": "https://crm.example.com/", "events": ["chat.deleted"]}, "unknown event types chat.deleted"),
       ({"url": "https://crm.example.com/", "events": []}, "non-empty list")]


def test_bad_subscriptions_are_refused_with_the_reason(client: FlaskClient) -> None:
    for body, says in BAD:
        answer = client.post("/api/webhook-subscriptions", headers=AUTH, json=body)
        assert answer.status_code == 400 and says in answer.json["error"], body
    assert client.get("/api/webhook-subscriptions", headers=AUTH).json == {"subscriptions": []}


def test_dead_letters_are_listed_and_re_sent_once(client: FlaskClient, redis_url: str) -> None:
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    dead = store.xadd(keys.DEAD, {"subscription": "s1", "event_id": "1-0", "type": "chat.resolved",
                                  "body": '{"id":"1-0.s1"}', "first_at": "1", "attempt": "12", "reason": "HTTP 500",
                                  "failed_at": "2"})
    assert [d["id"] for d in client.get("/api/webhook-dead-letters", headers=AUTH).json["dead_letters"]] == [dead]
    assert client.post(f"/api/webhook-dead-letters/{dead}/resend", headers=AUTH).status_code == 202
    assert client.post(f"/api/webhook-dead-letters/{dead}/resend", headers=AUTH).status_code == 404
    [(_, again)] = store.xrange(keys.DELIVERIES)
    assert again["attempt"] == "1" and again["body"] == '{"id":"1-0.s1"}' and "reason" not in again


def test_an_agent_may_not_manage_subscriptions(client: FlaskClient) -> None:
    client.application.extensions["handoff"].agents.create("alice", PASSWORD, name="Alice", teams=("orders",),
                                                           capacity=2)
    token = client.post("/api/auth/token", json={"username": "alice", "password": PASSWORD}).json["token"]
    answer = client.get("/api/webhook-subscriptions", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 403
