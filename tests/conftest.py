"""Session-wide fixtures: a real Redis (redis_proc, redis_url) and a real 3-master Redis Cluster
(redis_cluster; `redis_url` is its URL where a suite asks for the cluster variant), the order database on
SQLite and on a real PostgreSQL (database_url); Rasa telemetry off for every test."""

import os
from pathlib import Path
from typing import Iterator

import pytest

from shop import db as shop_db
from tests.support.postgres import PostgresProcess
from tests.support.redis_cluster import RedisCluster
from tests.support.redis_process import RedisProcess
from tests.support.redis_sentinel import RedisSentinel

# Rasa code run by the tests (in-process or started from here) reports nothing to Rasa's services.
os.environ["RASA_TELEMETRY_ENABLED"] = "false"


@pytest.fixture(scope="session")
def redis_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture()
def redis_sentinel(tmp_path: Path) -> Iterator[RedisSentinel]:
    """A master, its replica and a sentinel watching them (`redis+sentinel://` URL)."""
    watched = RedisSentinel(tmp_path / "sentinel").start()
    yield watched
    watched.stop()


@pytest.fixture()
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty Redis: the single server, or the cluster (`redis+cluster://`) for the suites that run on
    both (tests/support/redis_cluster.py `on_both`)."""
    server = request.getfixturevalue("redis_cluster" if getattr(request, "param", "") == "cluster" else "redis_proc")
    yield server.url
    server.flushall()


@pytest.fixture(scope="session")
def postgres_proc() -> Iterator[PostgresProcess]:
    server = PostgresProcess().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty order database: a SQLite file, and a database on a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
    else:
        url = request.getfixturevalue("postgres_proc").new_database()
    yield url
    shop_db.dispose(url)
