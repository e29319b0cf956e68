"""The Redis the stack starts is real and keeps its data across restarts (AOF)."""

from pathlib import Path

from stack import redis_server
from tests.conftest import RedisProcess


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
