"""Session-wide fixtures: a real Redis (redis_proc, redis_url); Rasa telemetry off for every test."""

import os
from typing import Iterator

import pytest

from tests.support.redis_process import RedisProcess

# Rasa code run by the tests (in-process or started from here) reports nothing to Rasa's services.
os.environ["RASA_TELEMETRY_ENABLED"] = "false"


@pytest.fixture(scope="session")
def redis_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture()
def redis_url(redis_proc: RedisProcess) -> Iterator[str]:
    yield redis_proc.url
    redis_proc.client().flushall()
