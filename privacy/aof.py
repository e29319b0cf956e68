"""Rewriting Redis's append-only file after an erasure: until it is rewritten, the file still holds every
write that put the customer's data there, and a restart would read them back."""

import time
from typing import Dict

import redis

WAIT_SECONDS = 120.0


def rewrite(client: redis.Redis, wait: bool = True) -> Dict[str, str]:
    """Starts BGREWRITEAOF and, with `wait`, waits until the rewritten file is in place."""
    try:
        client.bgrewriteaof()
    except redis.ResponseError as exc:  # a rewrite already running started before the erasure: run another
        if "already in progress" not in str(exc):
            return {"status": "failed", "error": str(exc)}
        _wait(client)
        client.bgrewriteaof()
    if not wait:
        return {"status": "started"}
    info = _wait(client)
    return {"status": str(info.get("aof_last_bgrewrite_status", "unknown")),
            "aof_enabled": str(info.get("aof_enabled"))}


def _wait(client: redis.Redis) -> Dict[str, object]:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        info = client.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return info
        if time.monotonic() > deadline:
            raise TimeoutError("Redis did not finish rewriting its append-only file")
        time.sleep(0.1)
