"""The handoff state machine on a real Redis: ownership transitions, queue order, routing, atomic claims."""

import json
import threading
from datetime import datetime, timezone
from typing import Iterator, List

import pytest
import redis

from handoff import keys
from handoff.agents import AgentDirectory, InvalidAgent
from handoff.assignment import Router
from handoff.state import ChatStore, Conflict, Escalation, NotFound
from handoff.teams import team_for
from stack.office_hours import InvalidOfficeHours, OfficeHours
from tests.support.redis_process import RedisProcess
from whatsapp_cloud import redis_connection, redis_keys

PASSWORD = "correct horse battery"


@pytest.fixture()
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis_connection.blocking(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture()
def chats(store: redis.Redis) -> ChatStore:
    return ChatStore(store)


@pytest.fixture()
def agents(store: redis.Redis) -> AgentDirectory:
    return AgentDirectory(store)


def escalation(customer: str = "15550001", intent: str = "order_status") -> Escalation:
    return Escalation(customer, "Ana", "customer_request", intent, {"order_id": "1001"}, "wants a person")


def test_escalation_queues_the_customer_and_a_second_one_returns_the_same_chat(chats: ChatStore) -> None:
    chat_id, created = chats.escalate(escalation(), "orders", window_closes_at=2000.0, now=1000.0)
    assert created
    again, created_again = chats.escalate(escalation(), "orders", window_closes_at=2000.0, now=1001.0)
    assert (again, created_again) == (chat_id, False)
    assert chats.owner("15550001")["state"] == "queued"
    assert chats.queue("orders") == [chat_id]
    chat = chats.chat(chat_id)
    assert chat["state"] == "queued" and chat["intent"] == "order_status"
    assert json.loads(chat["slots"]) == {"order_id": "1001"}


def test_every_transition_is_timestamped_in_the_history_and_the_event_stream(chats: ChatStore,
                                                                                 store: redis.Redis) -> None:
    chat_id, _ = chats.escalate(escalation(), "orders", 5000.0, now=100.0)
    chats.claim(chat_id, "alice", capacity=2, now=110.0)
    chats.resolve(chat_id, "alice", "refund issued", now=120.0)
    history = chats.history("15550001")
    assert [(h["from"], h["to"], h["at"]) for h in history] == [
        ("bot", "queued", 100.0), ("queued", "agent", 110.0), ("agent", "bot", 120.0)]
    events = [fields for _id, fields in store.xrange(redis_keys.EVENT_STREAM) if fields["kind"] == "handoff_transition"]
    assert [(e["from"], e["to"]) for e in events] == [("bot", "queued"), ("queued", "agent"), ("agent", "bot")]
    assert chats.owner("15550001")["state"] == "bot"
    assert store.zscore(keys.HANDBACK_PENDING, chat_id) == 120.0


def test_queue_puts_the_window_closing_soonest_first(chats: ChatStore) -> None:
    late, _ = chats.escalate(escalation("1"), "orders", window_closes_at=9000.0)
    soon, _ = chats.escalate(escalation("2"), "orders", window_closes_at=3000.0)
    middle, _ = chats.escalate(escalation("3"), "orders", window_closes_at=6000.0)
    assert chats.queue("orders") == [soon, middle, late]
    assert chats.position(late, "orders") == 3


def race_for(redis_url: str, chat_id: str, contenders: int) -> tuple[List[str], List[str]]:
    """Every contender claims the chat at the same moment, each on its own connection."""
    winners: List[str] = []
    losers: List[str] = []
    barrier = threading.Barrier(contenders)

    def claim(agent: str) -> None:
        own = ChatStore(redis_connection.blocking(redis_url, decode_responses=True))
        barrier.wait()
        try:
            own.claim(chat_id, agent, capacity=100)
            winners.append(agent)
        except Conflict as exc:
            losers.append(exc.reason)

    threads = [threading.Thread(target=claim, args=(f"agent{i}",)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return winners, losers


def test_two_agents_claiming_the_same_chat_exactly_one_wins(chats: ChatStore, redis_url: str) -> None:
    for round_ in range(20):
        chat_id, _ = chats.escalate(escalation(f"9{round_}"), "general", 1.0)
        winners, losers = race_for(redis_url, chat_id, 4)
        assert len(winners) == 1 and losers == ["taken"] * 3
        assert chats.chat(chat_id)["agent"] == winners[0]
        assert sum(chat_id in chats.agent_chats(f"agent{i}") for i in range(4)) == 1


def test_claim_respects_capacity_and_unknown_chats(chats: ChatStore) -> None:
    first, _ = chats.escalate(escalation("1"), "general", 1.0)
    second, _ = chats.escalate(escalation("2"), "general", 1.0)
    chats.claim(first, "alice", capacity=1)
    with pytest.raises(Conflict) as full:
        chats.claim(second, "alice", capacity=1)
    assert full.value.reason == "full"
    assert chats.chat(second)["state"] == "queued"
    with pytest.raises(NotFound):
        chats.claim("c-nope", "alice", capacity=1)


def test_transfer_moves_ownership_and_the_old_agent_can_no_longer_act(chats: ChatStore) -> None:
    chat_id, _ = chats.escalate(escalation(), "orders", 1.0)
    chats.claim(chat_id, "alice", 3)
    chats.transfer_to_agent(chat_id, "alice", "bob", 3)
    assert chats.chat(chat_id)["agent"] == "bob"
    assert chats.agent_chats("alice") == [] and chats.agent_chats("bob") == [chat_id]
    with pytest.raises(Conflict) as late:
        chats.resolve(chat_id, "alice", "done")
    assert late.value.reason == "not_owner" and "bob" in str(late.value)
    chats.requeue(chat_id, by="bob", team="refunds", why="transferred to team refunds")
    assert chats.queue("refunds") == [chat_id] and chats.owner("15550001")["state"] == "queued"


def test_customer_messages_are_recorded_once_and_refused_when_the_bot_owns_the_customer(chats: ChatStore) -> None:
    with pytest.raises(Conflict):
        chats.customer_message("15550001", "wamid.A", {"kind": "customer", "text": "hi"}, next_due=None)
    chat_id, _ = chats.escalate(escalation(), "orders", 1.0)
    assert chats.customer_message("15550001", "wamid.B", {"kind": "customer", "text": "hello?"}, None) == (
        "ok", chat_id)
    assert chats.customer_message("15550001", "wamid.B", {"kind": "customer", "text": "hello?"}, None)[0] == \
        "duplicate"
    assert [m["text"] for m in chats.messages(chat_id)] == ["hello?"]


def test_router_gives_the_chat_to_the_least_busy_online_agent_of_the_team(chats: ChatStore,
                                                                          agents: AgentDirectory) -> None:
    agents.create("alice", PASSWORD, teams=("orders",), capacity=2)
    agents.create("bob", PASSWORD, teams=("orders",), capacity=2)
    agents.create("carol", PASSWORD, teams=("refunds",), capacity=2)
    agents.create("dave", PASSWORD, teams=("orders",), capacity=2)
    for name in ("alice", "bob", "carol"):
        agents.set_status(name, "online")  # dave stays offline
    router = Router(chats, agents, handle_seconds=300)
    busy, _ = chats.escalate(escalation("1"), "orders", 1.0)
    chats.claim(busy, "alice", 2)
    waiting, _ = chats.escalate(escalation("2"), "orders", 1.0)
    assert router.assign_waiting("orders") == [waiting]
    assert chats.chat(waiting)["agent"] == "bob"
    # Both full at 2 chats each: the next ones wait.
    more = [chats.escalate(escalation(str(n)), "orders", float(n))[0] for n in range(3, 6)]
    router.assign_waiting("orders")
    assert chats.queue("orders") == [more[2]]
    assert router.expected_wait("orders", 1) == 300


def test_an_agent_going_offline_puts_their_chats_back_in_the_queue(chats: ChatStore, agents: AgentDirectory) -> None:
    agents.create("alice", PASSWORD, teams=("orders",))
    agents.set_status("alice", "online")
    router = Router(chats, agents, handle_seconds=300)
    chat_id, _ = chats.escalate(escalation(), "orders", 1.0)
    router.assign_waiting()
    assert chats.chat(chat_id)["agent"] == "alice"
    agents.set_status("alice", "offline")
    assert router.agent_left("alice") == [chat_id]
    assert chats.queue("orders") == [chat_id] and chats.owner("15550001")["state"] == "queued"
    assert chats.history("15550001")[-1]["why"] == "alice went offline"


def test_state_survives_a_redis_restart(tmp_path: "pytest.TempPathFactory") -> None:
    server = RedisProcess(tmp_path / "redis").start()  # type: ignore[operator]
    try:
        chats = ChatStore(server.client())
        chat_id, _ = chats.escalate(escalation(), "orders", 1.0)
        chats.claim(chat_id, "alice", 3)
        server.stop()
        server.start()
        again = ChatStore(server.client())
        assert again.chat(chat_id)["agent"] == "alice"
        assert again.owner("15550001")["state"] == "agent"
        assert again.agent_chats("alice") == [chat_id]
        again.resolve(chat_id, "alice", "done")  # the scripts are loaded again after the restart
        assert again.owner("15550001")["state"] == "bot"
    finally:
        server.stop()


def test_agent_accounts_hash_passwords_and_validate_input(agents: AgentDirectory, store: redis.Redis) -> None:
    agents.create("alice", PASSWORD, role="supervisor", teams=("orders", "refunds"), capacity=4)
    assert PASSWORD not in store.hget(keys.agent("alice"), "password")
    assert agents.authenticate("alice", PASSWORD).role == "supervisor"  # type: ignore[union-attr]
    assert agents.authenticate("alice", "wrong password") is None
    assert agents.authenticate("nobody", PASSWORD) is None
    for bad in [dict(username="x y"), dict(role="boss"), dict(teams=("sales",)), dict(capacity=0),
                dict(password="short"), dict(username="alice")]:
        args = {"username": "zed", "password": PASSWORD, **bad}
        with pytest.raises(InvalidAgent):
            agents.create(args.pop("username"), args.pop("password"), **args)


def test_team_comes_from_the_intent() -> None:
    assert team_for("get_refund") == "refunds"
    assert team_for("payment_issue") == "payments"
    assert team_for("order_status") == "orders"
    assert team_for("complaint") == "general" and team_for(None) == "general"


def test_office_hours_in_the_business_time_zone() -> None:
    hours = OfficeHours.parse("mon-fri 09:00-17:00; sat 10:00-12:00", "Europe/Lisbon")
    friday_evening = datetime(2026, 11, 27, 18, 30, tzinfo=timezone.utc)  # 18:30 in Lisbon (UTC+0 in winter)
    assert not hours.is_open(friday_evening)
    assert hours.opens_at(friday_evening) == datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
    assert hours.is_open(datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc))
    assert hours.opens_at(datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)) is None
    with pytest.raises(InvalidOfficeHours):
        OfficeHours.parse("weekdays 9-5")
    with pytest.raises(InvalidOfficeHours):
        OfficeHours.parse("mon 09:00-17:00", "Mars/Olympus")


def test_transitions_trim_the_event_stream_to_the_deployments_bound(store: redis.Redis) -> None:
    # Every writer of wa:events trims it to WHATSAPP_EVENTS_MAXLEN (approximately: whole stream nodes).
    bounded = ChatStore(store, event_stream_max=150)
    for n in range(400):
        bounded.escalate(escalation(customer=f"1555{n:05d}"), "orders", window_closes_at=2000.0, now=1000.0)
    assert 150 <= store.xlen(redis_keys.EVENT_STREAM) < 400
