"""The conversation lock store on a real Redis, built the way endpoints.yml builds it."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any, Dict, List

import pytest
from rasa.core.lock_store import LockError, _create_from_endpoint_config
from rasa.utils.endpoints import EndpointConfig

from bot.channels.conversation_lock import ConversationLockStore

CONVERSATION = "15551230001"


def endpoint_options(redis_proc: Any, **more: Any) -> Dict[str, Any]:
    return {"url": "127.0.0.1", "type": "bot.channels.conversation_lock.ConversationLockStore",
            "port": redis_proc.port, "db": 0, "password": redis_proc.password or None, "key_prefix": "wabot", **more}


@pytest.fixture()
def lock_store(redis_proc) -> ConversationLockStore:
    redis_proc.flushall()
    store = _create_from_endpoint_config(EndpointConfig(**endpoint_options(redis_proc, ticket_lifetime=2)))
    assert isinstance(store, ConversationLockStore) and store.ticket_lifetime == 2
    return store


def test_a_waiter_whose_ticket_lapsed_behind_one_a_cut_off_turn_left_gets_lock_error_instead_of_waiting_for_ever(
        lock_store: ConversationLockStore) -> None:
    lock_store.issue_ticket(CONVERSATION, 3)  # a turn cut off by a Redis outage: never cleaned up
    waiter = lock_store.issue_ticket(CONVERSATION, 1)  # and one whose renewals failed while Redis was away

    began = time.monotonic()
    with pytest.raises(LockError, match="lapsed before its turn"):  # Rasa's own store was still waiting at 10 s
        asyncio.run(asyncio.wait_for(lock_store._acquire_lock(CONVERSATION, waiter, 0.5), timeout=10))
    assert time.monotonic() - began < 3  # told as soon as its own ticket lapsed, not when the other one did


def test_the_turn_tried_again_is_served_once_the_left_ticket_lapsed(lock_store: ConversationLockStore) -> None:
    lock_store.issue_ticket(CONVERSATION, 1)

    async def tried_again() -> str:
        async with lock_store.lock(CONVERSATION, wait_time_in_seconds=0.2):
            return "served"

    assert asyncio.run(asyncio.wait_for(tried_again(), timeout=10)) == "served"
    assert lock_store.get_lock(CONVERSATION) is None  # cleaned up after the turn


def turns_in_order(lock_store: ConversationLockStore, first_seconds: float, **lock: Any) -> List[str]:
    order: List[str] = []

    async def turn(name: str, seconds: float) -> None:
        async with lock_store.lock(CONVERSATION, wait_time_in_seconds=0.1, **lock):
            order.append(f"{name} in")
            await asyncio.sleep(seconds)
            order.append(f"{name} out")

    async def both() -> None:
        first = asyncio.create_task(turn("first", first_seconds))
        await asyncio.sleep(0.05)
        await turn("second", 0)
        await first

    asyncio.run(asyncio.wait_for(both(), timeout=30))
    return order


def test_turns_of_one_conversation_are_still_served_one_after_another(lock_store: ConversationLockStore) -> None:
    assert turns_in_order(lock_store, 0.5) == ["first in", "first out", "second in", "second out"]


def test_a_turn_longer_than_its_ticket_lifetime_keeps_the_conversation(lock_store: ConversationLockStore) -> None:
    # Three lifetimes: without renewals (Rasa's store) the second turn got in after 1 s, while the first still ran.
    assert turns_in_order(lock_store, 3, lock_lifetime=1) == ["first in", "first out", "second in", "second out"]
    assert lock_store.get_lock(CONVERSATION) is None


HOLDER = textwrap.dedent("""
    import asyncio, json, sys
    from rasa.core.lock_store import _create_from_endpoint_config
    from rasa.utils.endpoints import EndpointConfig

    async def hold() -> None:
        store = _create_from_endpoint_config(EndpointConfig(**json.loads(sys.argv[1])))
        async with store.lock(sys.argv[2]):
            print("holding", flush=True)
            await asyncio.sleep(600)

    asyncio.run(hold())
""")


def test_a_killed_holders_conversation_is_free_again_within_the_ticket_lifetime(redis_proc,
                                                                                 lock_store: ConversationLockStore
                                                                                 ) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, json.dumps(endpoint_options(redis_proc,
                                                                                        ticket_lifetime=2)),
                               CONVERSATION], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        time.sleep(3)  # held past its first lifetime: renewed
        assert lock_store.get_lock(CONVERSATION).is_someone_waiting()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        killed = time.monotonic()

        async def next_turn() -> float:
            async with lock_store.lock(CONVERSATION, wait_time_in_seconds=0.1):
                return time.monotonic() - killed

        # Rasa's tickets live 60 s, so this waited up to a minute.
        assert asyncio.run(asyncio.wait_for(next_turn(), timeout=20)) <= 2 + 0.5
    finally:
        holder.kill()
        holder.wait(10)
