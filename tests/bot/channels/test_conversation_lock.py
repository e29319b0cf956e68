import asyncio
import time

import pytest
from rasa.core.lock_store import LockError, _create_from_endpoint_config
from rasa.utils.endpoints import EndpointConfig

from bot.channels.conversation_lock import ConversationLockStore


@pytest.fixture()
def lock_store(redis_proc) -> ConversationLockStore:
    redis_proc.flushall()
    config = EndpointConfig(url="127.0.0.1", type="bot.channels.conversation_lock.ConversationLockStore",
                            port=redis_proc.port, db=0, password=redis_proc.password or None, key_prefix="wabot")
    store = _create_from_endpoint_config(config)
    assert isinstance(store, ConversationLockStore)  # as endpoints.yml builds it
    return store


def test_a_turn_whose_ticket_lapses_behind_one_a_cut_off_turn_left_gets_lock_error_instead_of_waiting_for_ever(
        lock_store: ConversationLockStore) -> None:
    lock_store.issue_ticket("15551230001", 3)  # a turn cut off by a Redis outage: never cleaned up

    async def waiter() -> None:
        async with lock_store.lock("15551230001", lock_lifetime=1, wait_time_in_seconds=0.5):
            pytest.fail("served although a live ticket was ahead of it")

    began = time.monotonic()
    with pytest.raises(LockError, match="lapsed before its turn"):
        asyncio.run(asyncio.wait_for(waiter(), timeout=10))  # Rasa's own lock store was still waiting here
    assert time.monotonic() - began < 3  # told as soon as its own ticket lapsed, not when the other one did


def test_the_turn_tried_again_is_served_once_the_left_ticket_lapsed(lock_store: ConversationLockStore) -> None:
    lock_store.issue_ticket("15551230001", 1)

    async def tried_again() -> str:
        async with lock_store.lock("15551230001", lock_lifetime=30, wait_time_in_seconds=0.2):
            return "served"

    assert asyncio.run(asyncio.wait_for(tried_again(), timeout=10)) == "served"
    assert lock_store.get_lock("15551230001") is None  # cleaned up after the turn


def test_turns_of_one_conversation_are_still_served_one_after_another(lock_store: ConversationLockStore) -> None:
    order = []

    async def turn(name: str, seconds: float) -> None:
        async with lock_store.lock("15551230001", lock_lifetime=30, wait_time_in_seconds=0.1):
            order.append(f"{name} in")
            await asyncio.sleep(seconds)
            order.append(f"{name} out")

    async def both() -> None:
        first = asyncio.create_task(turn("first", 0.5))
        await asyncio.sleep(0.05)
        await turn("second", 0)
        await first

    asyncio.run(both())
    assert order == ["first in", "first out", "second in", "second out"]
