"""The clients stack/components.py builds from the settings: the platform's, and the inbox's rate limits'
(the `limits` library), through a real Sentinel too."""

import redis
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from stack import components


def test_tls_settings_reach_the_clients() -> None:
    env = {"REDIS_URL": "rediss://app:pw@redis.example.com:6380/0", "REDIS_TLS_CA": "/etc/ssl/redis-ca.pem"}
    options = components.redis_client(env).connection_pool.connection_kwargs
    assert (options["ssl_ca_certs"], options["username"], options["password"]) == ("/etc/ssl/redis-ca.pem", "app", "pw")
    assert components.rate_limit_storage(env) == (env["REDIS_URL"], {"ssl_ca_certs": "/etc/ssl/redis-ca.pem"})
    # `limits` has no rediss+sentinel://: the plain scheme with TLS as options.
    assert components.rate_limit_storage({**env, "REDIS_URL": "rediss+sentinel://s1:26379/mymaster"}) == (
        "redis+sentinel://s1:26379/mymaster", {"ssl": True, "ssl_ca_certs": "/etc/ssl/redis-ca.pem"})
    # Beside a cluster: the plain Redis that Rasa's stores use.
    assert components.rate_limit_storage({"REDIS_URL": "redis+cluster://n1:7000",
                                          "RASA_REDIS_URL": "redis://:pw@tracker:6379/0"}) == (
        "redis://:pw@tracker:6379/0", {})
    assert components.rate_limit_storage({"REDIS_URL": "redis+sentinel://s1:26379,s2:26379/mymaster"}) == (
        "redis+sentinel://s1:26379,s2:26379/mymaster", {})


def test_the_inboxs_rate_limits_work_through_sentinel(redis_sentinel) -> None:
    uri, options = components.rate_limit_storage({"REDIS_URL": redis_sentinel.url})
    storage = storage_from_string(uri, **options)  # the limiter holds it weakly
    limiter = MovingWindowRateLimiter(storage)
    login = RateLimitItemPerMinute(3)
    assert [limiter.hit(login, "handoff:limits", "10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(login, "handoff:limits", "10.0.0.2")  # counted per address
    with redis.Redis(port=redis_sentinel.master.port) as master:
        assert master.keys("LIMITER*")  # kept on the master the sentinel names
