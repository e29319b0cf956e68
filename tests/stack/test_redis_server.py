"""The Redis the stack starts is real and keeps its data across restarts (AOF)."""

import subprocess
from pathlib import Path

import pytest
import redis

from stack import redis_server
from tests.support.helpers import free_port, wait_for_port
from tests.support.redis_process import RedisProcess


def test_state_survives_a_restart(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path / "redis").start()
    server.client().set("consent:15551230001", "opted_in")
    server.client().xadd("events", {"type": "inbound"})
    server.stop()
    assert list((tmp_path / "redis").glob("appendonly*"))

    again = RedisProcess(tmp_path / "redis", port=server.port).start()
    try:
        assert again.client().get("consent:15551230001") == "opted_in"
        assert again.client().xlen("events") == 1
    finally:
        again.stop()


def test_the_server_is_a_real_redis() -> None:
    assert "Redis server" in redis_server.version()


def test_the_started_redis_needs_its_password_and_never_shows_it(tmp_path: Path) -> None:
    port = free_port()
    argv = redis_server.command(port, tmp_path, password="generated-password-123")
    assert "generated-password-123" not in " ".join(argv)  # `ps` shows the command line to everyone
    assert (tmp_path / "auth.conf").stat().st_mode & 0o777 == 0o600
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        assert redis.Redis.from_url(f"redis://:generated-password-123@127.0.0.1:{port}/0").ping()
    finally:
        server.terminate()
        server.wait(timeout=10)
