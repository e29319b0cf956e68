"""Agents' languages and the customer's language in the handoff service, on a real Redis."""

from typing import Iterator

import pytest
import redis

from handoff import keys
from handoff.agents import AgentDirectory, InvalidAgent
from handoff.assignment import Router
from handoff.manage import main as manage
from handoff.state import ChatStore, Escalation
from tests.support.handoff_env import PASSWORD, Handoff, running_handoff, signed_in


@pytest.fixture()
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def escalation(customer: str, language: str = None) -> Escalation:
    return Escalation(customer, "Ana", "language", "order_status", {}, "dónde está mi pedido", language)


def test_agents_speak_english_unless_told_otherwise(store: redis.Redis) -> None:
    agents = AgentDirectory(store)
    assert agents.create("alice", PASSWORD).languages == ("en",)
    assert agents.create("bob", PASSWORD, languages=("ES", "en", "es")).languages == ("es", "en")
    assert agents.get("bob").public()["languages"] == ["es", "en"]
    with pytest.raises(InvalidAgent):
        agents.create("carol", PASSWORD, languages=("spanish",))
    assert agents.set_languages("alice", ("en", "de")).languages == ("en", "de")
    store.hdel(keys.agent("alice"), "languages")  # an account from before languages
    assert agents.get("alice").languages == ("en",)


def test_routing_prefers_an_online_agent_who_speaks_the_customers_language(store: redis.Redis) -> None:
    chats, agents = ChatStore(store), AgentDirectory(store)
    agents.create("alice", PASSWORD, teams=("orders",), capacity=1)
    agents.create("bob", PASSWORD, teams=("orders",), capacity=1, languages=("en", "es"))
    agents.create("carol", PASSWORD, teams=("refunds",), capacity=1, languages=("pt",))
    agents.create("dave", PASSWORD, teams=("orders",), capacity=1, languages=("pt",))  # offline
    for name in ("alice", "bob", "carol"):
        agents.set_status(name, "online")
    router = Router(chats, agents, handle_seconds=300)
    # Both wait, the Spanish customer first in the queue: bob gets them although alice comes first
    # (by name, equally idle); alice gets the English customer.
    spanish, _ = chats.escalate(escalation("2", "es"), "orders", 1.0)
    english, _ = chats.escalate(escalation("1"), "orders", 2.0)
    assert sorted(router.assign_waiting("orders")) == sorted([english, spanish])
    assert chats.chat(spanish)["agent"] == "bob" and chats.chat(spanish)["language"] == "es"
    assert chats.chat(english)["agent"] == "alice"


def test_routing_falls_back_to_any_agent_of_the_team_when_none_free_speaks_it(store: redis.Redis) -> None:
    chats, agents = ChatStore(store), AgentDirectory(store)
    agents.create("alice", PASSWORD, teams=("orders",), capacity=1)
    agents.create("carol", PASSWORD, teams=("refunds",), capacity=1, languages=("pt",))  # other team
    agents.create("dave", PASSWORD, teams=("orders",), capacity=1, languages=("pt",))  # offline
    for name in ("alice", "carol"):
        agents.set_status(name, "online")
    portuguese, _ = chats.escalate(escalation("3", "pt"), "orders", 1.0)
    assert Router(chats, agents, handle_seconds=300).assign_waiting("orders") == [portuguese]
    assert chats.chat(portuguese)["agent"] == "alice"


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url) as running:
        yield running


def test_the_escalation_records_the_language_and_the_inbox_shows_it(handoff: Handoff) -> None:
    bad = handoff.escalate("15550000009", language="español")
    assert bad.status_code == 400 and "language" in bad.json()["error"]
    body = handoff.escalate("15550000009", reason="language", language="es").json()
    chat = handoff.api("GET", f"/api/chats/{body['chat_id']}").json()["chat"]
    assert chat["language"] == "es" and chat["reason"] == "language"
    sam, _ = signed_in(handoff, "sam")  # a supervisor sees every chat
    assert "Writes in Spanish (es)" in sam.get(f"{handoff.url}/inbox/chats/{body['chat_id']}", timeout=10).text
    assert "Spanish (es)" in sam.get(f"{handoff.url}/inbox", timeout=10).text  # the queue row


def test_admins_give_agents_languages_through_the_api(handoff: Handoff) -> None:
    handoff.agents.create("root", PASSWORD, role="admin", teams=("general",))
    token = handoff.login("root")
    made = handoff.api("POST", "/api/agents", token, json={"username": "lena", "password": "another password",
                                                            "teams": ["orders"], "languages": ["de", "en"]})
    assert made.status_code == 201 and made.json()["agent"]["languages"] == ["de", "en"]
    refused = handoff.api("POST", "/api/agents", token, json={"username": "max", "password": "another password",
                                                               "languages": "de"})
    assert refused.status_code == 400


def test_the_manage_command_sets_an_agents_languages(store: redis.Redis, redis_url: str,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    AgentDirectory(store).create("alice", PASSWORD)
    assert manage(["set-languages", "alice", "en,fr"]) == 0
    assert AgentDirectory(store).get("alice").languages == ("en", "fr")
    assert manage(["set-languages", "alice", "french"]) == 2
    assert manage(["set-languages", "nobody", "en"]) == 2
    assert "speaks en, fr" in capsys.readouterr().out
