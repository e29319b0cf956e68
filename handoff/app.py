"""Flask application factory for the handoff service (served by gunicorn in `make run`)."""

import os
from typing import Any, Mapping, Optional

import redis
from flask import Flask, jsonify


def create_app(environ: Optional[Mapping[str, str]] = None) -> Flask:
    env = os.environ if environ is None else environ
    app = Flask(__name__)
    store = redis.Redis.from_url(env["REDIS_URL"], socket_timeout=2, decode_responses=True)
    app.extensions["redis"] = store

    @app.get("/health")
    def health() -> Any:
        try:
            store.ping()
        except redis.RedisError as exc:
            return jsonify(status="degraded", service="handoff", redis=f"unreachable: {exc}"), 503
        return jsonify(status="ok", service="handoff", redis="ok")

    return app
