"""Redis clients from one URL: a single server, TLS, passwords and ACL users, Redis Cluster or Sentinel.

The URL says everything: `redis://` (plain), `rediss://` (TLS; `tls_ca` names the CA file that signed the
server's certificate, else the system's CAs), a user and password in the URL (`redis://user:secret@host`),
the schemes `redis+cluster://` / `rediss+cluster://` for a Redis Cluster (any one node's address: the
client discovers the others), and `redis+sentinel://` / `rediss+sentinel://` for a master that Redis
Sentinel watches and replaces on failure (`redis+sentinel://:password@sentinel1:26379,sentinel2:26379/mymaster`:
the sentinels' addresses, then the name they monitor, database 0; every connection asks them where the master
is now; the password is given to the sentinels and the master alike, as the `limits` library does with the
same URL).
`stack/components.py` reads REDIS_URL and REDIS_TLS_CA and calls this.

Cluster clients of redis-py 4.6 have no MULTI/EXEC; `transaction()` gives a transaction on the node that
owns a key's slot instead, for operations whose keys share one slot (whatsapp_cloud/redis_keys.py).
"""

import weakref
from typing import Any, Dict, List, Tuple, Union
from urllib.parse import unquote, urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
SENTINEL_SCHEMES = {"redis+sentinel": "redis", "rediss+sentinel": "rediss"}
SCHEMES = ("redis", "rediss", *CLUSTER_SCHEMES, *SENTINEL_SCHEMES)

Blocking = Union[redis.Redis, RedisCluster]
Async = Union[aioredis.Redis, AsyncRedisCluster]


class BadRedisUrl(ValueError):
    pass


def blocking(url: str, tls_ca: str = "", **options: Any) -> Blocking:
    """A redis-py client (a RedisCluster for the cluster schemes); `options` as redis-py takes them."""
    if urlsplit(url).scheme in SENTINEL_SCHEMES:
        sentinels, service, master_options = _sentinel(url, tls_ca, options)
        return Sentinel(sentinels, sentinel_kwargs=_sentinel_auth(master_options)).master_for(service, **master_options)
    plain, cluster = _parse(url, tls_ca, options)
    if cluster:
        return RedisCluster.from_url(plain, **options)
    return redis.Redis.from_url(plain, **options)


def asyncio(url: str, tls_ca: str = "", **options: Any) -> Async:
    """The same for redis.asyncio."""
    if urlsplit(url).scheme in SENTINEL_SCHEMES:
        sentinels, service, master_options = _sentinel(url, tls_ca, options)
        return AsyncSentinel(sentinels, sentinel_kwargs=_sentinel_auth(master_options)).master_for(
            service, **master_options)
    plain, cluster = _parse(url, tls_ca, options)
    if cluster:
        return AsyncRedisCluster.from_url(plain, **options)
    return aioredis.Redis.from_url(plain, **options)


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def is_plain_url(url: str) -> bool:
    """One server at a fixed address (what Rasa's tracker and lock stores can use)."""
    return urlsplit(url).scheme in ("redis", "rediss")


def _sentinel(url: str, tls_ca: str, options: Dict[str, Any]) -> "tuple[List[Tuple[str, int]], str, Dict[str, Any]]":
    """The sentinels' addresses, the monitored name, and the master's connection options from the URL."""
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    sentinels = []
    for address in hosts.split(","):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise BadRedisUrl(f"a sentinel's address is host:port; got {address!r}")
        sentinels.append((host.strip("[]"), int(port)))
    service = parts.path.strip("/")
    if not service or "/" in service:
        raise BadRedisUrl("a Sentinel URL ends with the name the sentinels monitor (database 0): "
                          "redis+sentinel://host:26379,host2:26379/mymaster")
    username, _, password = credentials.partition(":")
    master = dict(options)
    if username:
        master.setdefault("username", unquote(username))
    if password:
        master.setdefault("password", unquote(password))
    if SENTINEL_SCHEMES[parts.scheme] == "rediss":
        master.setdefault("ssl", True)
        if tls_ca:
            master.setdefault("ssl_ca_certs", tls_ca)
    return sentinels, service, master


def _sentinel_auth(master: Dict[str, Any]) -> Dict[str, Any]:
    """The sentinels are asked with the master's user, password and TLS settings."""
    return {key: master[key] for key in ("username", "password", "ssl", "ssl_ca_certs") if key in master}


def _parse(url: str, tls_ca: str, options: Dict[str, Any]) -> "tuple[str, bool]":
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise BadRedisUrl(f"a Redis URL starts with {', '.join(s + '://' for s in SCHEMES)}; got {url.split(':')[0]!r}")
    cluster = parts.scheme in CLUSTER_SCHEMES
    scheme = CLUSTER_SCHEMES.get(parts.scheme, parts.scheme)
    if cluster and parts.path.strip("/") not in ("", "0"):
        raise BadRedisUrl("Redis Cluster has only database 0: leave the database out of the URL")
    if scheme == "rediss" and tls_ca:
        options.setdefault("ssl_ca_certs", tls_ca)
    path = "" if cluster else parts.path
    return urlunsplit((scheme, parts.netloc, path, parts.query, parts.fragment)), cluster


def transaction(store: Blocking, key: str) -> Any:
    """A MULTI/EXEC pipeline for keys in `key`'s slot: on a cluster, on the node that owns the slot."""
    if isinstance(store, RedisCluster):
        return store.get_redis_connection(store.get_node_from_key(key)).pipeline(transaction=True)
    return store.pipeline(transaction=True)


# Per cluster client, a plain asyncio client per node, made when a transaction first needs it.
_node_clients: "weakref.WeakKeyDictionary[AsyncRedisCluster, Dict[str, aioredis.Redis]]" = weakref.WeakKeyDictionary()


async def async_transaction(store: Async, key: str) -> Any:
    """`transaction()` for redis.asyncio clients."""
    if not isinstance(store, AsyncRedisCluster):
        return store.pipeline(transaction=True)
    await store.initialize()  # learns the slots on first use (does nothing after)
    node = store.get_node_from_key(key)
    clients = _node_clients.setdefault(store, {})
    if node.name not in clients:
        pool = aioredis.ConnectionPool(connection_class=node.connection_class, **node.connection_kwargs)
        clients[node.name] = aioredis.Redis(connection_pool=pool)
    return clients[node.name].pipeline(transaction=True)
