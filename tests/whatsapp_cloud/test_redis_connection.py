"""Clients from one URL (whatsapp_cloud/redis_connection.py): passwords and ACL users, TLS checked against a
CA, Redis Cluster, and clear errors for URLs that cannot work. Real servers throughout."""

import asyncio
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest
import redis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from tests.support.redis_process import RedisProcess
from tests.support.redis_sentinel import RedisSentinel
from tests.support.tls import certificates, tls_front
from whatsapp_cloud import redis_connection, redis_keys
from whatsapp_cloud.redis_connection import BadRedisUrl

PASSWORD = "p@ss:w/rd with spaces"  # characters a URL must escape


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    """A real Redis that asks for a password (requirepass), as managed services do."""
    server = RedisProcess(tmp_path_factory.mktemp("redis-auth"), password=PASSWORD).start()
    yield server
    server.stop()


def test_a_password_in_the_url_is_given_and_one_missing_is_refused(guarded: RedisProcess) -> None:
    url = f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:{guarded.port}/0"
    with redis_connection.blocking(url, decode_responses=True) as client:
        assert client.set("k", "v") and client.get("k") == "v"
    with redis_connection.blocking(guarded.url) as anonymous, pytest.raises(redis.AuthenticationError):
        anonymous.get("k")

    async def read() -> str:
        client = redis_connection.asyncio(url, decode_responses=True)
        try:
            return await client.get("k")
        finally:
            await client.close()

    assert asyncio.run(read()) == "v"


def test_an_acl_user_in_the_url_gets_only_what_it_is_allowed(guarded: RedisProcess) -> None:
    with guarded.client() as admin:
        admin.acl_setuser("app", enabled=True, passwords=["+app-secret"], keys=["~{wa}:*"], commands=["+@all"])
    url = f"redis://app:app-secret@127.0.0.1:{guarded.port}/0"
    with redis_connection.blocking(url, decode_responses=True) as app:
        app.xadd(redis_keys.EVENT_STREAM, {"kind": "test"})
        assert app.xlen(redis_keys.EVENT_STREAM) == 1
        with pytest.raises(redis.exceptions.NoPermissionError):
            app.get("wabot:tracker:15551230001")  # Rasa's, not the app's
    with redis_connection.blocking(f"redis://app:wrong@127.0.0.1:{guarded.port}/0") as wrong:
        with pytest.raises(redis.AuthenticationError):
            wrong.ping()


def test_tls_is_checked_against_the_ca_that_is_named(redis_url: str, tmp_path: Path) -> None:
    ca, cert, key = certificates(tmp_path)
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    with tls_front(port, cert, key) as tls_port:
        url = f"rediss://127.0.0.1:{tls_port}/0"
        with redis_connection.blocking(url, tls_ca=str(ca), decode_responses=True) as client:
            assert client.set("over-tls", "yes")
        with redis.Redis.from_url(redis_url, decode_responses=True) as plain:
            assert plain.get("over-tls") == "yes"  # it went through to the real server
        # Without the CA the server's certificate is not trusted: no connection, nothing sent in the clear.
        with redis_connection.blocking(url) as untrusting, pytest.raises(redis.ConnectionError, match="certificate"):
            untrusting.ping()

        async def over_tls() -> bool:
            client = redis_connection.asyncio(url, tls_ca=str(ca))
            try:
                return await client.ping()
            finally:
                await client.close()

        assert asyncio.run(over_tls())


def test_the_cluster_scheme_gives_cluster_clients(redis_cluster) -> None:
    with redis_connection.blocking(redis_cluster.url, decode_responses=True) as client:
        assert isinstance(client, RedisCluster)
        assert len(client.get_primaries()) == 3
        # Two keys of one hash tag: one transaction on the node that owns their slot.
        with redis_connection.transaction(client, redis_keys.WEBHOOK_STREAM) as tx:
            tx.incr(redis_keys.customer_order("1"))
            tx.incr(redis_keys.customer_order("2"))
            assert tx.execute() == [1, 1]
    redis_cluster.flushall()

    async def check() -> bool:
        client = redis_connection.asyncio(redis_cluster.url)
        try:
            return isinstance(client, AsyncRedisCluster) and await client.ping()
        finally:
            await client.close()

    assert asyncio.run(check())
    assert redis_connection.is_cluster_url(redis_cluster.url)
    assert not redis_connection.is_cluster_url("rediss://h:6380/0")


@pytest.mark.parametrize("url, problem", [
    ("localhost:6379", "starts with"),
    ("http://127.0.0.1:6379", "starts with"),
    ("redis+cluster://127.0.0.1:7000/3", "only database 0"),
])
def test_urls_that_cannot_work_are_clear_errors(url: str, problem: str) -> None:
    with pytest.raises(BadRedisUrl, match=problem):
        redis_connection.blocking(url)


def test_a_sentinel_url_reaches_the_master_the_sentinels_name(redis_sentinel: RedisSentinel) -> None:
    with redis_connection.blocking(redis_sentinel.url, decode_responses=True) as client:
        client.set("k", "v")
    with redis.Redis(port=redis_sentinel.master.port, decode_responses=True) as master:
        assert master.get("k") == "v"  # written on the master, not the replica

    async def read() -> str:
        client = redis_connection.asyncio(redis_sentinel.url, decode_responses=True)
        try:
            return await client.get("k")
        finally:
            await client.close()

    assert asyncio.run(read()) == "v"


@pytest.mark.proof
def test_after_a_failover_the_same_url_writes_to_the_new_master(redis_sentinel: RedisSentinel) -> None:
    client = redis_connection.blocking(redis_sentinel.url, decode_responses=True)
    client.set("before", "1")
    assert client.wait(1, 5000) == 1  # the replica has it
    old = redis_sentinel.master_port()
    redis_sentinel.master.process.kill()  # the master's machine is gone
    new = redis_sentinel.wait_for_failover(old)
    assert new == redis_sentinel.replica.port
    # Until the sentinel has the promoted replica ready, writes fail (and callers retry, as the channel's
    # consumer does); then the same client finds it.
    deadline = time.monotonic() + 20
    while True:
        try:
            client.set("after", "2")
            break
        except (redis.ConnectionError, redis.ReadOnlyError):
            assert time.monotonic() < deadline, "the new master was never reached"
            time.sleep(0.2)
    assert client.get("before") == "1" and client.get("after") == "2"
    with redis.Redis(port=new, decode_responses=True) as promoted:
        assert promoted.get("after") == "2"
    client.close()
