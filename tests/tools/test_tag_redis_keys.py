"""Keys of a release before the hash tags renamed to their tagged names (tools/tag_redis_keys.py), on a real
Redis: the webhook stream keeps its consumer group and pending entries, expiries stay, untagged keys and
keys already renamed are left alone."""

import pytest
import redis

from analytics import keys as analytics_keys
from campaigns import keys as campaign_keys
from stack import handoff_keys
from tools import tag_redis_keys
from whatsapp_cloud import redis_keys


def test_old_names_become_tagged_names_and_nothing_is_lost(redis_url: str, capsys) -> None:
    old = redis.Redis.from_url(redis_url, decode_responses=True)
    old.xgroup_create("wa:webhooks", "rasa", id="0", mkstream=True)
    old.xadd("wa:webhooks", {"body": "{}"})
    old.xreadgroup("rasa", "bot-1", {"wa:webhooks": ">"})  # taken, not acknowledged
    old.hset("wa:order:15551230001", mapping={"issued": 3, "done": 2})
    old.expire("wa:order:15551230001", 3600)
    old.hset("wa:consent:100000000000001:15551230001", "utility", "{}")
    old.xadd("wa:consent-log", {"recipient": "15551230001"})
    old.hset("handoff:chat:c1", "state", "queued")
    old.zadd("campaigns:index", {"camp1": 1.0})
    old.hset("campaign:camp1", "state", "draft")
    old.set("analytics:clock", "100")
    old.set("wa:deferred-lock:15551230001", "t")  # untagged in this release too
    old.set("wa:in:wamid.1", "done")

    assert tag_redis_keys.main(["--redis-url", redis_url, "--dry-run"]) == 0
    assert "wa:webhooks -> {wa}:webhooks" in capsys.readouterr().out and old.exists("wa:webhooks")
    assert tag_redis_keys.main(["--redis-url", redis_url]) == 0
    assert "renamed 8 key(s)" in capsys.readouterr().out

    [group] = old.xinfo_groups(redis_keys.WEBHOOK_STREAM)
    assert group["name"] == "rasa" and group["pending"] == 1
    assert old.hgetall(redis_keys.customer_order("15551230001")) == {"issued": "3", "done": "2"}
    assert 0 < old.ttl(redis_keys.customer_order("15551230001")) <= 3600
    assert old.hget(redis_keys.consent("15551230001", "100000000000001"), "utility") == "{}"
    assert old.xlen(redis_keys.CONSENT_LOG) == 1
    assert old.hget(handoff_keys.chat("c1"), "state") == "queued"
    assert old.zscore(campaign_keys.INDEX, "camp1") == 1.0 and old.exists(campaign_keys.campaign("camp1"))
    assert old.get(analytics_keys.CLOCK) == "100"
    assert old.get("wa:deferred-lock:15551230001") == "t" and old.get("wa:in:wamid.1") == "done"
    assert not old.exists("wa:webhooks", "handoff:chat:c1", "campaigns:index", "analytics:clock")

    assert tag_redis_keys.main(["--redis-url", redis_url]) == 0  # again: nothing left to rename
    assert "renamed 0 key(s)" in capsys.readouterr().out


def test_a_key_under_both_names_is_left_for_a_person_to_decide(redis_url: str, capsys) -> None:
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    store.set("wa:test:clock-offset", "10")
    store.set(redis_keys.TEST_CLOCK_OFFSET, "20")
    assert tag_redis_keys.main(["--redis-url", redis_url]) == 1
    assert "kept wa:test:clock-offset" in capsys.readouterr().err
    assert store.get(redis_keys.TEST_CLOCK_OFFSET) == "20" and store.get("wa:test:clock-offset") == "10"


def test_a_cluster_is_refused(redis_cluster) -> None:
    with pytest.raises(SystemExit):
        tag_redis_keys.main(["--redis-url", redis_cluster.url])
