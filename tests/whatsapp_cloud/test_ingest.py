"""Webhook intake without a web framework: what an ingest process answers Meta, against a real Redis."""

import asyncio
import hashlib
import hmac
import json
from typing import Optional

import redis.asyncio as aioredis

from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.streams.webhook_stream import WebhookStream
from whatsapp_cloud.webhooks.ingest import Answer, WebhookIngest

SECRET = "app-secret"
BODY = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def receive(url: str, body: bytes, header: Optional[str], **options) -> Answer:
    async def scenario() -> Answer:
        store = redis_connection.asyncio(url)
        try:
            ingest = WebhookIngest(WebhookStream(store, "ingest-test"), (SECRET,), "verify", **options)
            return await ingest.receive(body, header)
        finally:
            await store.close()

    return asyncio.run(scenario())


def test_a_signed_webhook_is_stored_then_acknowledged(redis_url):
    seen = []
    answer = receive(redis_url, BODY, signed(BODY), on_accepted=lambda: seen.append(True))
    assert answer == Answer(200, {"status": "received"})
    assert seen == [True]
    [(_, fields)] = redis_connection.blocking(redis_url).xrange(redis_keys.WEBHOOK_STREAM)
    assert fields[b"body"] == BODY


def test_what_is_refused_is_not_stored(redis_url):
    too_big = b"{" + b" " * 2048 + b"}"
    cases = [
        (too_big, signed(too_big), 413),
        (BODY, None, 401),
        (BODY, signed(BODY, "another secret"), 403),
        (b"not json", signed(b"not json"), 400),
    ]
    for body, header, status in cases:
        assert receive(redis_url, body, header, max_body_bytes=1024).status == status
    assert redis_connection.blocking(redis_url).xlen(redis_keys.WEBHOOK_STREAM) == 0


def test_no_acknowledgement_when_the_stream_cannot_store_it():
    # Nothing listens on this port: the webhook is not stored, so Meta must deliver it again.
    answer = receive("redis://127.0.0.1:1/0", BODY, signed(BODY))
    assert answer.status == 503


def test_handshake_echoes_the_challenge_for_the_right_token_only():
    ingest = WebhookIngest(WebhookStream(aioredis.Redis(), "x"), (SECRET,), "verify")
    assert ingest.handshake("subscribe", "verify", "12345") == "12345"
    assert ingest.handshake("subscribe", "wrong", "12345") is None
    assert ingest.handshake("unsubscribe", "verify", "12345") is None
