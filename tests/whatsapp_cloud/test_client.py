"""The shared Graph API client against the stand-in, over real HTTP."""

import asyncio
import base64
import hashlib
from typing import Iterator, Tuple

import pytest
import requests
from flask import Flask

from cloud_api_standin.app import create_app
from tests.support.helpers import free_port, serve_wsgi
from whatsapp_cloud.graph.client import GraphApiClient, SyncGraphApiClient
from whatsapp_cloud.graph.config import CloudApiConfig
from whatsapp_cloud.graph.errors import GraphApiError

CUSTOMER = "15551230001"
PHONE_ID = "100000000000001"


@pytest.fixture()
def graph() -> Iterator[Tuple[str, object]]:
    app = create_app({
        "WHATSAPP_ACCESS_TOKEN": "tok", "WHATSAPP_APP_SECRET": "sec",
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID, "STANDIN_WEBHOOK_URL": "http://127.0.0.1:9/",
    })
    with serve_wsgi(app) as url:
        yield url, app


def config(base_url: str, token: str = "tok") -> CloudApiConfig:
    return CloudApiConfig(access_token=token, phone_number_id=PHONE_ID, api_base_url=base_url, api_version="v26.0")


def open_window(app: object) -> None:
    # The customer writes first (the stand-in's delivery to the dead webhook fails, the window still opens).
    app.test_client().post(f"/_standin/customers/{CUSTOMER}/messages", json={"text": "hi"})


def test_async_client_sends_and_returns_the_wamid(graph: Tuple[str, object]) -> None:
    url, app = graph
    open_window(app)

    async def go() -> None:
        client = GraphApiClient(config(url))
        try:
            result = await client.send_text(CUSTOMER, "Your order shipped")
            assert result.wamid.startswith("wamid.") and result.wa_id == CUSTOMER
            await client.mark_read("wamid.X", typing_indicator=True)
        finally:
            await client.aclose()

    asyncio.run(go())
    [record] = app.extensions["standin_outbox"].after(0)
    assert record["message"]["text"]["body"] == "Your order shipped"


def test_sync_client_sends_the_same_payload(graph: Tuple[str, object]) -> None:
    url, app = graph
    open_window(app)
    client = SyncGraphApiClient(config(url))
    result = client.send_text(CUSTOMER, "hello from an agent")
    client.close()
    [record] = app.extensions["standin_outbox"].after(0)
    assert record["wamid"] == result.wamid
    assert record["message"] == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
        "type": "text", "text": {"body": "hello from an agent", "preview_url": False},
    }


def test_meta_errors_become_graph_api_errors_with_their_code(graph: Tuple[str, object]) -> None:
    url, _ = graph
    client = SyncGraphApiClient(config(url))
    with pytest.raises(GraphApiError) as outside_window:
        client.send_text(CUSTOMER, "nobody wrote to us")
    assert outside_window.value.code == 131047 and not outside_window.value.retryable
    assert "24 hours" in outside_window.value.details
    with pytest.raises(GraphApiError) as bad_token:
        SyncGraphApiClient(config(url, token="wrong")).send_text(CUSTOMER, "x")
    assert bad_token.value.code == 190 and bad_token.value.http_status == 401


def test_unreachable_api_is_a_retryable_error() -> None:
    client = SyncGraphApiClient(config(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(GraphApiError) as unreachable:
        client.send_text(CUSTOMER, "x")
    assert unreachable.value.retryable and unreachable.value.code is None


def test_server_errors_without_a_body_are_retryable() -> None:
    down = Flask("down")
    down.add_url_rule("/<path:anything>", "down", lambda anything: ("<html>down</html>", 503), methods=["POST"])
    with serve_wsgi(down) as url:
        with pytest.raises(GraphApiError) as err:
            SyncGraphApiClient(config(url)).send_text(CUSTOMER, "x")
    assert err.value.http_status == 503 and err.value.retryable


@pytest.mark.parametrize("code, retryable", [(130429, True), (131056, True), (131000, True),
                                             (131026, False), (131050, False), (132000, False)])
def test_retry_classification_follows_meta(code: int, retryable: bool) -> None:
    assert GraphApiError.from_response(400, {"error": {"code": code, "message": "m"}}).retryable is retryable


def test_client_refuses_to_start_without_credentials() -> None:
    with pytest.raises(ValueError):
        SyncGraphApiClient(CloudApiConfig(access_token="", phone_number_id=PHONE_ID))


def test_inbound_media_is_downloaded_on_demand(graph: Tuple[str, object]) -> None:
    url, app = graph
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    client = app.test_client()
    sent = client.post(f"/_standin/customers/{CUSTOMER}/messages", json={"media": {
        "type": "image", "mime_type": "image/png", "caption": "it arrived broken",
        "data_base64": base64.b64encode(png).decode()}})
    assert sent.status_code == 502  # the fixture's webhook URL is dead; the upload is stored anyway
    media_id = next(iter(app.extensions["standin_media"]))

    async def go() -> Tuple[bytes, str, dict]:
        api = GraphApiClient(config(url))
        try:
            info = await api.media_info(media_id)
            return (*await api.download_media(media_id), info)
        finally:
            await api.aclose()

    data, mime_type, info = asyncio.run(go())
    assert data == png and mime_type == "image/png"
    assert info["sha256"] == hashlib.sha256(png).hexdigest() and info["file_size"] == len(png)
    assert requests.get(info["url"], timeout=5).status_code == 401  # the URL needs the token

    async def unknown() -> None:
        api = GraphApiClient(config(url))
        try:
            await api.media_info("999")
        finally:
            await api.aclose()

    with pytest.raises(GraphApiError) as err:
        asyncio.run(unknown())
    assert err.value.code == 100


def test_an_uploaded_file_gets_a_media_id_the_api_then_serves(graph: Tuple[str, object]) -> None:
    url, _app = graph
    pdf = b"%PDF-1.4\n% price list\n"

    async def go() -> None:
        client = GraphApiClient(config(url))
        try:
            media_id = await client.upload_media(pdf, "application/pdf", "prices.pdf")
            info = await client.media_info(media_id)
            assert (info["mime_type"], info["file_size"]) == ("application/pdf", len(pdf))
            assert await client.download_media(media_id) == (pdf, "application/pdf")
        finally:
            await client.aclose()

    asyncio.run(go())
    sync = SyncGraphApiClient(config(url))
    try:
        assert sync.upload_media(pdf, "application/pdf", "prices.pdf").isdigit()
    finally:
        sync.close()


def test_an_upload_meta_refuses_raises_its_error(graph: Tuple[str, object]) -> None:
    url, _app = graph

    async def refused(token: str, content: bytes, name: str) -> GraphApiError:
        client = GraphApiClient(config(url, token))
        try:
            with pytest.raises(GraphApiError) as caught:
                await client.upload_media(content, "image/gif", name)
            return caught.value
        finally:
            await client.aclose()

    assert asyncio.run(refused("wrong", b"GIF89a", "a.gif")).code == 190
    unsupported = asyncio.run(refused("tok", b"GIF89a", "a.gif"))
    assert (unsupported.code, unsupported.http_status) == (131053, 400)
