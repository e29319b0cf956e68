"""The intake's HTTP routes (aiohttp), at the same paths as the Rasa channel's: /webhooks/whatsapp/..."""

import logging
from pathlib import Path
from typing import Mapping

import prometheus_client
import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import RedisError

from shop.media_files import media_path
from stack import components
from whatsapp_cloud.streams import stream_gauges
from whatsapp_cloud.streams.webhook_stream import WebhookStream
from whatsapp_cloud.webhooks import signature
from whatsapp_cloud.webhooks.ingest import DEFAULT_MAX_BODY_BYTES, WebhookIngest

logger = logging.getLogger(__name__)
PREFIX = "/webhooks/whatsapp"
STORE = web.AppKey("store", aioredis.Redis)
INGEST = web.AppKey("ingest", WebhookIngest)
MEDIA_DIR = web.AppKey("media_dir", Path)


def create_app(env: Mapping[str, str]) -> web.Application:
    secrets = tuple(s for s in (env.get("WHATSAPP_APP_SECRET"), env.get("WHATSAPP_APP_SECRET_PREVIOUS")) if s)
    if not env.get("REDIS_URL"):
        raise ValueError("the webhook intake needs REDIS_URL for its durable stream")
    store = components.async_redis_client(env)
    retention = components.retention(env)
    stream = WebhookStream(store, "ingest", max_length=retention.webhook_stream_max)  # appends only
    max_body = int(env.get("WHATSAPP_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES)
    app = web.Application(client_max_size=max_body + 1024)  # the size check itself is the intake's (413)
    app[STORE] = store
    app[INGEST] = WebhookIngest(stream, secrets, env.get("WHATSAPP_VERIFY_TOKEN", ""), max_body)
    app[MEDIA_DIR] = components.media_dir(env)
    app.add_routes([
        web.get(f"{PREFIX}/webhook", handshake),
        web.post(f"{PREFIX}/webhook", receive),
        web.get(f"{PREFIX}/", health),
        web.get("/health", health),
        web.get(f"{PREFIX}/metrics", metrics),
        web.get(f"{PREFIX}/media/{{name}}", media),
    ])
    app.on_cleanup.append(_close)
    return app


async def handshake(request: web.Request) -> web.Response:
    challenge = request.app[INGEST].handshake(request.query.get("hub.mode"), request.query.get("hub.verify_token"),
                                              request.query.get("hub.challenge"))
    return web.Response(text="Forbidden", status=403) if challenge is None else web.Response(text=challenge)


async def receive(request: web.Request) -> web.Response:
    answer = await request.app[INGEST].receive(await request.read(), request.headers.get(signature.HEADER))
    return web.json_response(answer.body, status=answer.status)


async def health(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except RedisError as exc:
        return web.json_response({"status": "degraded", "redis": f"unreachable: {exc}"}, status=503)
    return web.json_response({"status": "ok", "service": "ingest"})


async def metrics(request: web.Request) -> web.Response:
    await stream_gauges.refresh(request.app[STORE])
    return web.Response(body=prometheus_client.generate_latest(),
                        headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST})


async def media(request: web.Request) -> web.StreamResponse:
    path = media_path(request.app[MEDIA_DIR], request.match_info["name"])
    if path is None:
        return web.json_response({"error": "no such file"}, status=404)
    return web.FileResponse(path)


async def _close(app: web.Application) -> None:
    await app[STORE].close()
