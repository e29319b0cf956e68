"""The channel's handoff routing: real Redis, the handoff service over real HTTP, Rasa's own stores."""

import asyncio
import time
from typing import Iterator

import pytest
import redis.asyncio as aioredis
from rasa.core.agent import Agent
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from bot.channels.handoff_routing import HandoffRouting, HandoffUnreachable
from stack import handoff_keys
from tests.support.handoff_env import API_TOKEN, Handoff, running_handoff
from tests.support.helpers import free_port
from whatsapp_cloud.webhooks import inbound

CUSTOMER = "15552220001"


@pytest.fixture()
def handoff(redis_url: str) -> Iterator[Handoff]:
    with running_handoff(redis_url) as running:
        yield running


def rasa_agent() -> Agent:
    domain = Domain.load("domain.yml")
    return Agent(domain=domain, tracker_store=InMemoryTrackerStore(domain), lock_store=InMemoryLockStore())


def message(wamid: str, text: str, sender: str = CUSTOMER) -> inbound.InboundMessage:
    return inbound.InboundMessage(wamid=wamid, sender=sender, timestamp=int(time.time()), type="text", text=text,
                                  phone_number_id="1", profile_name="Ana")


def test_messages_go_to_the_bot_unless_the_customer_is_with_the_team(handoff: Handoff, redis_url: str) -> None:
    agent = rasa_agent()

    async def scenario() -> tuple:
        routing = HandoffRouting(aioredis.Redis.from_url(redis_url), handoff.url, API_TOKEN, agent=lambda: agent)
        with_bot = await routing.divert(message("wamid.1", "hi"))
        chat_id = handoff.escalate(CUSTOMER).json()["chat_id"]
        diverted = await routing.divert(message("wamid.2", "/restart"))
        again = await routing.divert(message("wamid.2", "/restart"))  # delivered twice
        tracker = await agent.tracker_store.retrieve(CUSTOMER)
        return with_bot, chat_id, diverted, again, tracker

    with_bot, chat_id, diverted, again, tracker = asyncio.run(scenario())
    assert with_bot is False  # the bot owns the customer: the consumer runs the bot
    assert diverted is True and again is True
    assert [m["text"] for m in handoff.service.chats.messages(chat_id)] == ["/restart"]
    user_events = [e for e in tracker.events if e.type_name == "user"]
    assert [(e.text, e.message_id, e.input_channel) for e in user_events] == [("/restart", "wamid.2", "whatsapp")]
    assert user_events[0].metadata["handoff"] is True
    assert not [e for e in tracker.events if e.type_name in ("restart", "session_started")]


def test_a_chat_resolved_meanwhile_lets_the_bot_answer(handoff: Handoff, redis_url: str) -> None:
    # The consumer read "queued" just before the agent resolved the chat: the service answers 409.
    stale = redis_url.rsplit("/", 1)[0] + "/1"

    async def scenario() -> bool:
        store = aioredis.Redis.from_url(stale)
        await store.hset(handoff_keys.owner(CUSTOMER), "state", "queued")
        routing = HandoffRouting(store, handoff.url, API_TOKEN, agent=rasa_agent)
        return await routing.divert(message("wamid.3", "hello"))

    assert asyncio.run(scenario()) is False


@pytest.mark.parametrize("problem", ["unreachable", "refused"])
def test_a_message_the_service_did_not_take_stays_pending(handoff: Handoff, redis_url: str, problem: str) -> None:
    handoff.escalate(CUSTOMER)
    url, token = handoff.url, API_TOKEN
    if problem == "unreachable":
        url = f"http://127.0.0.1:{free_port()}"
    else:
        token = "not-the-token"

    async def scenario() -> str:
        routing = HandoffRouting(aioredis.Redis.from_url(redis_url), url, token, agent=rasa_agent)
        with pytest.raises(HandoffUnreachable) as failed:
            await routing.divert(message("wamid.4", "hello"))
        return str(failed.value)

    assert "wamid.4" in asyncio.run(scenario())  # the consumer releases the claim; the entry is retried
    assert handoff.service.chats.messages(handoff.service.chats.owner(CUSTOMER)["chat_id"]) == []
