"""The webhook intake process over real HTTP and a real Redis: what Meta's callback URL answers."""

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict

import redis
from aiohttp.test_utils import TestClient, TestServer

from ingest.app import create_app
from stack import settings
from whatsapp_cloud import redis_keys

SECRET = "app-secret"
BODY = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()


def signed(body: bytes) -> Dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}


def with_client(env: Dict[str, str], scenario: Callable[[TestClient], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with TestClient(TestServer(create_app(env))) as client:  # a real server on a loopback port
            return await scenario(client)

    return asyncio.run(run())


def environment(redis_url: str, tmp_path: Path) -> Dict[str, str]:
    return {"REDIS_URL": redis_url, "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": "verify",
            "MEDIA_DIR": str(tmp_path)}


def test_a_signed_webhook_is_stored_and_acknowledged(redis_url, tmp_path):
    async def scenario(client: TestClient) -> Any:
        good = await client.post("/webhooks/whatsapp/webhook", data=BODY, headers=signed(BODY))
        forged = await client.post("/webhooks/whatsapp/webhook", data=BODY,
                                   headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
        return good.status, await good.json(), forged.status

    assert with_client(environment(redis_url, tmp_path), scenario) == (200, {"status": "received"}, 403)
    [(_, fields)] = redis.Redis.from_url(redis_url).xrange(redis_keys.WEBHOOK_STREAM)
    assert fields[b"body"] == BODY


def test_metas_handshake(redis_url, tmp_path):
    async def scenario(client: TestClient) -> Any:
        ok = await client.get("/webhooks/whatsapp/webhook",
                              params={"hub.mode": "subscribe", "hub.verify_token": "verify", "hub.challenge": "42"})
        wrong = await client.get("/webhooks/whatsapp/webhook",
                                 params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"})
        return ok.status, await ok.text(), wrong.status

    assert with_client(environment(redis_url, tmp_path), scenario) == (200, "42", 403)


def test_health_says_when_redis_is_unreachable(tmp_path):
    async def scenario(client: TestClient) -> Any:
        answer = await client.get("/health")
        return answer.status, (await answer.json())["status"]

    env = environment("redis://127.0.0.1:1/0", tmp_path)
    assert with_client(env, scenario) == (503, "degraded")


def test_media_links_serve_generated_files_only(redis_url, tmp_path):
    (tmp_path / ("a" * 32 + ".pdf")).write_bytes(b"%PDF-1.4 invoice")
    (tmp_path / "secret.txt").write_text("not for Meta")

    async def scenario(client: TestClient) -> Any:
        invoice = await client.get("/webhooks/whatsapp/media/" + "a" * 32 + ".pdf")
        other = await client.get("/webhooks/whatsapp/media/secret.txt")
        escape = await client.get("/webhooks/whatsapp/media/..%2F..%2Fetc%2Fpasswd")
        return invoice.status, await invoice.read(), other.status, escape.status

    assert with_client(environment(redis_url, tmp_path), scenario) == (200, b"%PDF-1.4 invoice", 404, 404)


def test_the_intake_loads_neither_rasa_nor_tensorflow():
    # It answers Meta while the workers run NLU: it must stay small and start in a moment.
    probe = ("import sys, ingest.app, ingest.__main__; "
             "print(sorted(m for m in ('rasa', 'tensorflow', 'sanic', 'spacy') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=settings.ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"
