"""The WhatsApp channel on a fresh Sanic app, talking to the Cloud API stand-in and a real Redis (the channel's
tests and the tests of what runs in its inbound hook, such as click-to-chat attribution).

`REDIS_URL` is set per test by the `channel_redis` fixture (conftest.py); the channels made here use it.
"""

import asyncio
import json
import logging
from typing import Any, Dict, List, Tuple

from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.whatsapp_connector import WhatsAppInput, WhatsAppOutput
from tests.support.helpers import payload
from whatsapp_cloud.webhooks import signature

SECRET = "app-secret"
OLD_SECRET = "old-app-secret"
VERIFY = "verify-me"
PHONE_ID = "106540352242922"
CUSTOMER = "16505551234"
REDIS_URL = ""


def make_channel(graph_url: str, **extra: Any) -> WhatsAppInput:
    return WhatsAppInput.from_credentials({
        "verify_token": VERIFY, "app_secret": SECRET, "app_secret_previous": OLD_SECRET,
        "access_token": "tok", "phone_number_id": PHONE_ID, "api_base_url": graph_url, "api_version": "v26.0",
        "redis_url": REDIS_URL, **extra,
    })


def run(
    graph_url: str, requests: List[Dict[str, Any]], consume: bool = True, turn_delay: float = 0.0,
    reply: bool = True, failed_action: bool = False, **extra: Any
) -> Tuple[List[Any], List[UserMessage]]:
    """Send requests to a fresh Sanic app with the channel mounted (a fresh Rasa process, as far as
    the channel can tell); then, if `consume`, work off the webhook stream. Each turn echoes the text, or,
    with `reply=False`, sends nothing (as Rasa does when a custom action fails); with `failed_action`, it also
    logs the failure as Rasa's processor does."""
    channel = make_channel(graph_url, **extra)
    received: List[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        if turn_delay and len(received) == 1:
            await asyncio.sleep(turn_delay)  # a slow first turn must not let the second overtake it
        if failed_action:
            try:
                raise TimeoutError("the action server did not answer in time")
            except TimeoutError:
                logging.getLogger("rasa.core.processor").exception(
                    "Encountered an exception while running action 'action_greet_customer'.Bot will continue, "
                    "but the actions events are lost. Please check the logs of your action server for more "
                    "information.")
        if reply:
            await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

    if not consume:  # a process that dies right after answering 200: nothing consumes
        channel.start_consumer = lambda _on_new_message: None  # type: ignore[assignment]
    app = Sanic(f"test_{id(channel)}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/whatsapp")

    async def scenario() -> List[Any]:
        answers = []
        for spec in requests:
            _, answer = await getattr(app.asgi_client, spec["method"])(spec["url"], **spec.get("kwargs", {}))
            answers.append(answer)
        await channel.stop_consumer()  # the ASGI client's lifespan may have started one
        if consume:
            consumer = channel.start_consumer(on_new_message)
            await wait_until_stream_is_done(channel)
            await consumer.drain()
            await channel.stop_consumer()
        await channel.client.aclose()
        await channel.store.close()
        return answers

    return asyncio.run(scenario()), received


async def wait_until_stream_is_done(channel: WhatsAppInput, timeout: float = 10.0) -> None:
    stream = channel.stream
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        length = await channel.store.xlen(stream.stream)
        groups = await channel.store.xinfo_groups(stream.stream) if length else []
        if not length or (groups and groups[0]["pending"] == 0 and groups[0]["last-delivered-id"].decode()
                          == (await channel.store.xinfo_stream(stream.stream))["last-generated-id"].decode()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the webhook stream was not worked off")


def signed_post(body: bytes, secret: str = SECRET) -> Dict[str, Any]:
    return {"method": "post", "url": "/webhooks/whatsapp/webhook",
            "kwargs": {"content": body, "headers": {signature.HEADER: signature.sign(body, secret)}}}


def send_responses(graph_url: str, responses: List[Dict[str, Any]]) -> None:
    channel = make_channel(graph_url)

    async def send() -> None:
        out = channel.get_output_channel()
        assert isinstance(out, WhatsAppOutput)
        for message in responses:
            await out.send_response(CUSTOMER, dict(message))
        await channel.client.aclose()
        await channel.store.close()

    asyncio.run(send())


def text_webhook(wamid: str, text: str, sender: str = CUSTOMER, timestamp: int = 1749416383) -> bytes:
    raw = payload("meta_openapi_webhook_text.json")
    message = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id=wamid, text={"body": text}, timestamp=str(timestamp))
    message["from"] = sender
    raw["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = sender
    return json.dumps(raw).encode()
