"""The channel's own guarantees on real Redis and real HTTP: one live process per consumer name, a consumer
task that is restarted (health says so meanwhile), sends reserved before they go, and `system` messages
that are not the customer writing."""

import asyncio
import json
import time
from typing import Any, Awaitable, Callable, Dict, List, Tuple

import httpx
import pytest
import redis
from prometheus_client import REGISTRY
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.whatsapp_connector import WhatsAppInput
from cloud_api_standin.app import create_app
from tests.support.channel_harness import make_channel, run, signed_post, text_webhook
from tests.support.helpers import free_port, payload, serve_wsgi
from tests.support.sender_harness import CUSTOMER as SENDER_CUSTOMER
from tests.support.sender_harness import PHONE_ID as SENDER_PHONE_ID
from tests.support.sender_harness import sent, text, with_sender
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.streams.consumer_lease import default_consumer_name

pytestmark = pytest.mark.usefixtures("channel_redis")

Scenario = Callable[[Dict[str, Any]], Awaitable[Any]]


async def serving(channels: List[WhatsAppInput], scenario: Scenario) -> Any:
    """Each channel in a Sanic app of its own on a free port (a Rasa process each), then `scenario`."""
    answered: List[str] = []
    servers, bases = [], []
    for n, channel in enumerate(channels):
        async def on_new_message(message: UserMessage) -> None:
            answered.append(message.message_id)

        app = Sanic(f"hardening_{id(channel)}_{n}")
        app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/whatsapp")
        port = free_port()
        server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
        await server.startup()
        await server.after_start()
        servers.append(server)
        bases.append(f"http://127.0.0.1:{port}/webhooks/whatsapp")
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            return await scenario({"http": http, "bases": bases, "answered": answered})
    finally:
        for server, channel in zip(servers, channels, strict=True):
            await server.before_stop()
            server.close()
            await server.wait_closed()
            await channel.client.aclose()
            await channel.store.close()


async def health(context: Dict[str, Any], index: int = 0) -> Tuple[int, Dict[str, Any]]:
    answer = await context["http"].get(f"{context['bases'][index]}/")
    return answer.status_code, answer.json()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.1)


def test_a_consumer_name_held_by_a_live_process_is_refused(graph: Tuple[str, Any]) -> None:
    first, second = (make_channel(graph[0], consumer_name="rasa-shared") for _ in range(2))
    second.lease_seconds = first.lease_seconds = 1.0

    async def scenario(context: Dict[str, Any]) -> None:
        await eventually(lambda: _healthy(context, 0))
        await eventually(lambda: _refused(context, 1))
        status, body = await health(context, 1)
        assert status == 503 and "held by a live process" in body["consumer_state"]
        assert (await health(context, 0))[0] == 200  # the first one goes on

    asyncio.run(serving([first, second], scenario))

    # Once the first process is gone, a process started under the same name takes it up at once.
    third = make_channel(graph[0], consumer_name="rasa-shared")
    asyncio.run(serving([third], lambda context: eventually(lambda: _healthy(context, 0))))


async def _healthy(context: Dict[str, Any], index: int) -> bool:
    return (await health(context, index))[0] == 200


async def _refused(context: Dict[str, Any], index: int) -> bool:
    status, body = await health(context, index)
    return status == 503 and body.get("consumer_state", "").startswith("refused")


def test_consumer_names_are_unique_per_process_and_stable_across_restarts() -> None:
    assert default_consumer_name("5005") == default_consumer_name("5005")
    assert default_consumer_name("5005") != default_consumer_name("5006")


def test_a_consumer_task_that_ends_is_restarted_and_health_says_so_meanwhile(graph: Tuple[str, Any]) -> None:
    channel = make_channel(graph[0])
    channel.restart_delay = 12.0  # long enough to see "restarting" on a loaded machine
    before = REGISTRY.get_sample_value("whatsapp_consumer_restarts_total") or 0.0

    async def scenario(context: Dict[str, Any]) -> None:
        await eventually(lambda: _healthy(context, 0))
        assert channel._loop_task is not None
        loop = channel._loop_task
        while not loop.done():  # the loop's task ends, as after a fault nobody foresaw
            # Again until it ends: redis-py 4.6's asyncio client loses a cancellation that lands inside
            # some commands (the loop then simply goes on).
            loop.cancel()
            await asyncio.sleep(0.05)
        await eventually(lambda: _restarting(channel), timeout=10)
        status, body = await health(context)  # within the restart delay
        assert status == 503 and body["consumer_state"] == "restarting"
        await eventually(lambda: _healthy(context, 0), timeout=30)
        body = text_webhook("wamid.AFTER.RESTART", "still there?")
        await context["http"].post(f"{context['bases'][0]}/webhook", content=body,
                                   headers={"X-Hub-Signature-256": _sign(body)})
        await eventually(lambda: _contains(context["answered"], "wamid.AFTER.RESTART"))

    asyncio.run(serving([channel], scenario))
    assert (REGISTRY.get_sample_value("whatsapp_consumer_restarts_total") or 0.0) >= before + 1


async def _restarting(channel: WhatsAppInput) -> bool:
    return channel.consumer_state == "restarting"


async def _contains(items: List[str], item: str) -> bool:
    return item in items


def _sign(body: bytes) -> str:
    from whatsapp_cloud.webhooks import signature

    return signature.sign(body, "app-secret")


def test_two_runs_of_the_same_turn_send_its_reply_once(redis_url: str) -> None:
    app = create_app({"WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": "sec",
                      "WHATSAPP_PHONE_NUMBER_ID": SENDER_PHONE_ID, "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/"})
    app.test_client().post(f"/_standin/customers/{SENDER_CUSTOMER}/messages", json={"text": "hi"})

    async def both(sender: Any) -> Any:
        # Two processes run the same turn at once (a lapsed claim): both get to the same reply.
        message = text("Your refund is on its way")
        return await asyncio.gather(sender.send(message, key="wamid.TURN:1"), sender.send(message, key="wamid.TURN:1"))

    with serve_wsgi(app) as url:
        with_sender(url, redis_url, both)
    assert [m["text"]["body"] for m in sent(app)] == ["Your refund is on its way"]


def test_system_messages_do_not_open_the_service_window(graph: Tuple[str, Any], redis_url: str) -> None:
    raw = payload("meta_openapi_webhook_system_user_changed_number.json")
    sender = "16505550042"  # a customer who has not written
    raw["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = sender
    run(graph[0], [signed_post(json.dumps(raw).encode())])
    # Windows are kept per business number: the one the fixtures' messages came to.
    store = SyncPolicyStore(redis.Redis.from_url(redis_url), PolicyConfig(phone_number_id="106540352242922"))
    assert store.snapshot(sender).state.windows.service_until is None
    # Windows are counted from the customer's own timestamp: the message must be recent.
    run(graph[0], [signed_post(text_webhook("wamid.REAL", "hello", sender=sender, timestamp=int(time.time())))])
    assert store.snapshot(sender).state.windows.service_until is not None  # a message of theirs does
