"""The WhatsApp input channel on a Sanic app: handshake, signatures, turns, and sends to the stand-in."""

import asyncio
import json
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from bot.channels.whatsapp_connector import WhatsAppInput, WhatsAppOutput, split_text
from cloud_api_standin.app import create_app
from tests.helpers import payload, serve_wsgi
from whatsapp_cloud import signature

SECRET = "app-secret"
OLD_SECRET = "old-app-secret"
VERIFY = "verify-me"
PHONE_ID = "106540352242922"
CUSTOMER = "16505551234"


@pytest.fixture()
def graph() -> Iterator[Tuple[str, Any]]:
    app = create_app({
        "WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/",
    })
    app.test_client().post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "opens the window"})
    with serve_wsgi(app) as url:
        yield url, app


def make_channel(graph_url: str) -> WhatsAppInput:
    return WhatsAppInput.from_credentials({
        "verify_token": VERIFY, "app_secret": SECRET, "app_secret_previous": OLD_SECRET,
        "access_token": "tok", "phone_number_id": PHONE_ID, "api_base_url": graph_url, "api_version": "v26.0",
    })


def run(graph_url: str, requests: List[Dict[str, Any]]) -> Tuple[List[Any], List[UserMessage]]:
    """Send requests to a fresh Sanic app with the channel mounted; wait for the turns they start."""
    channel = make_channel(graph_url)
    received: List[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

    app = Sanic(f"test_{id(channel)}")
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/whatsapp")

    async def scenario() -> List[Any]:
        answers = []
        for spec in requests:
            _, answer = await getattr(app.asgi_client, spec["method"])(spec["url"], **spec.get("kwargs", {}))
            answers.append(answer)
        while channel._turns:
            await asyncio.gather(*list(channel._turns))
        await channel.client.aclose()
        return answers

    return asyncio.run(scenario()), received


def signed_post(body: bytes, secret: str = SECRET) -> Dict[str, Any]:
    return {"method": "post", "url": "/webhooks/whatsapp/webhook",
            "kwargs": {"content": body, "headers": {signature.HEADER: signature.sign(body, secret)}}}


def test_handshake_echoes_the_challenge_only_for_the_right_token(graph: Tuple[str, Any]) -> None:
    url = "/webhooks/whatsapp/webhook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="
    (good, bad, wrong_mode), _ = run(graph[0], [
        {"method": "get", "url": url + VERIFY},
        {"method": "get", "url": url + "guess"},
        {"method": "get", "url": url.replace("subscribe", "unsubscribe") + VERIFY},
    ])
    assert good.status == 200 and good.text == "1158201444"
    assert bad.status == 403 and wrong_mode.status == 403


def test_health_endpoint(graph: Tuple[str, Any]) -> None:
    (answer,), _ = run(graph[0], [{"method": "get", "url": "/webhooks/whatsapp/"}])
    assert answer.status == 200 and answer.json["status"] == "ok"


def test_signed_text_message_becomes_a_rasa_turn_and_the_reply_reaches_whatsapp(graph: Tuple[str, Any]) -> None:
    url, standin = graph
    body = json.dumps(payload("meta_openapi_webhook_text.json")).encode()
    (answer,), received = run(url, [signed_post(body)])
    assert answer.status == 200
    [message] = received
    assert message.sender_id == CUSTOMER and message.text == "Does it come in another color?"
    assert message.input_channel == "whatsapp"
    assert message.message_id == message.metadata["wamid"]
    assert message.metadata["wa_timestamp"] == 1749416383
    assert message.metadata["wa_profile_name"] == "Sheena Nelson"
    [reply] = standin.extensions["standin_outbox"].after(0)
    assert reply["to"] == CUSTOMER and reply["message"]["text"]["body"] == "echo: Does it come in another color?"


def test_previous_secret_is_accepted_during_rotation(graph: Tuple[str, Any]) -> None:
    body = json.dumps(payload("meta_openapi_webhook_text.json")).encode()
    (answer,), received = run(graph[0], [signed_post(body, OLD_SECRET)])
    assert answer.status == 200 and len(received) == 1


def test_unsigned_and_badly_signed_posts_are_refused_and_processed_not(graph: Tuple[str, Any]) -> None:
    url, standin = graph
    body = json.dumps(payload("meta_openapi_webhook_text.json")).encode()
    unsigned = {"method": "post", "url": "/webhooks/whatsapp/webhook", "kwargs": {"content": body}}
    (missing, wrong), received = run(url, [unsigned, signed_post(body, "attacker")])
    assert missing.status == 401 and wrong.status == 403
    assert received == [] and standin.extensions["standin_outbox"].after(0) == []


def test_signed_garbage_is_a_400_with_a_reason(graph: Tuple[str, Any]) -> None:
    (answer,), received = run(graph[0], [signed_post(b'{"object": "page"}')])
    assert answer.status == 400 and "whatsapp_business_account" in answer.json["error"]
    assert received == []


def test_status_callbacks_start_no_turn(graph: Tuple[str, Any]) -> None:
    body = json.dumps(payload("pywa_status_delivered.json")).encode()
    (answer,), received = run(graph[0], [signed_post(body)])
    assert answer.status == 200 and received == []


def test_button_reply_payload_is_what_rasa_reads(graph: Tuple[str, Any]) -> None:
    raw = payload("meta_openapi_webhook_interactive_button_reply.json")
    expected = raw["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]["button_reply"]["id"]
    (_,), received = run(graph[0], [signed_post(json.dumps(raw).encode())])
    assert [m.text for m in received] == [expected]


def test_output_channel_maps_buttons_and_long_text(graph: Tuple[str, Any]) -> None:
    url, standin = graph
    channel = make_channel(url)

    async def send() -> None:
        out = channel.get_output_channel()
        assert isinstance(out, WhatsAppOutput)
        await out.send_response(CUSTOMER, {"text": "Cancel it?", "buttons": [
            {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
            "utter_action": "utter_ask_cancel"})
        await out.send_response(CUSTOMER, {"text": "Pick one", "buttons": [
            {"title": f"Option {i}", "payload": f"/choose{{\"n\":{i}}}"} for i in range(5)]})
        await out.send_text_message(CUSTOMER, "word " * 1000)
        await channel.client.aclose()

    asyncio.run(send())
    sent = [r["message"] for r in standin.extensions["standin_outbox"].after(0)]
    buttons = sent[0]["interactive"]["action"]["buttons"]
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in buttons] == [("/affirm", "Yes"), ("/deny", "No")]
    assert sent[1]["type"] == "text" and "5. Option 4" in sent[1]["text"]["body"]
    long_parts = [m["text"]["body"] for m in sent[2:]]
    assert len(long_parts) == 2 and all(len(p) <= 4096 for p in long_parts)
    assert " ".join(long_parts).split() == ["word"] * 1000


def test_split_text_keeps_short_text_whole_and_cuts_unbroken_text() -> None:
    assert split_text("hello") == ["hello"]
    assert [len(p) for p in split_text("x" * 5000)] == [4096, 904]


def test_channel_refuses_to_start_without_secret_or_verify_token() -> None:
    with pytest.raises(ValueError):
        WhatsAppInput.from_credentials({"verify_token": VERIFY, "access_token": "t", "phone_number_id": "1"})
    with pytest.raises(ValueError):
        WhatsAppInput.from_credentials({"app_secret": SECRET, "access_token": "t", "phone_number_id": "1"})
