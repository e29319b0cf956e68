"""The figures of a scripted day match the ones computed by hand, however the streams are read."""

import threading
import time
from datetime import date
from typing import Iterator

import pytest
import redis
from sqlalchemy.engine import Engine

from analytics import keys
from analytics.aggregator import Aggregator
from analytics.config import AnalyticsConfig
from analytics.figures import compute, parse_range, read_range
from analytics.ratings import from_database
from shop.db import engine_for
from stack.office_hours import OfficeHours
from tests.analytics.scripted_day import EXPECTED, EXPECTED_COST, PHONE, A, B, C, E, Script, as_json, at, write_day
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import SyncPolicyStore, utc

DAY = date(2026, 11, 2)


@pytest.fixture()
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture()
def shop(tmp_path) -> Engine:
    return engine_for(f"sqlite:///{tmp_path}/shop.db", seed=False)


def figures(store: redis.Redis, team: str = "", hours: OfficeHours = None) -> dict:
    return compute(read_range(store, DAY, DAY, team), AnalyticsConfig(),
                   hours.open_seconds if hours else None)


def test_a_scripted_day_gives_the_hand_computed_figures(store, shop) -> None:
    write_day(store, shop)
    assert Aggregator(store, ratings=from_database(shop)).run() > 0
    result = figures(store)
    for name, expected in EXPECTED.items():
        got = result[name]
        if name == "conversations":
            got = {k: got[k] for k in expected}
        assert got == expected, name
    cost = result["cost"]
    assert cost["currency"] == EXPECTED_COST["currency"]
    assert cost["total"] == pytest.approx(EXPECTED_COST["total"])
    assert cost["per_contained"] == pytest.approx(EXPECTED_COST["per_contained"])
    assert cost["per_resolved"] == pytest.approx(EXPECTED_COST["per_resolved"])
    assert cost["by_category"] == {k: EXPECTED_COST[k] for k in ("marketing", "service")}
    assert cost["meta_priced"] == {"marketing": 1}
    assert result["durable_containment_final"] is False  # 11-04 is within the 7 days after 11-02
    assert result["agents"]["alice"]["first_response_seconds"]["p50"] == 300.0
    assert result["teams"]["general"]["resolution_seconds"]["p50"] == 3600.0


def test_first_response_in_office_hours_counts_only_open_time(store, shop) -> None:
    write_day(store, shop)
    Aggregator(store, ratings=from_database(shop)).run()
    # Agents start at 10:05: B's reply 10:05:30 after an escalation at 10:00:30 waited 30 s of office time.
    result = figures(store, hours=OfficeHours.parse("mon-fri 10:05-18:00", "UTC"))
    assert result["agent_first_response_office_seconds"] == {"p50": 30.0, "p90": 1200.0, "count": 2}
    assert result["agent_first_response_seconds"]["p50"] == 300.0  # wall time unchanged


def test_a_team_sees_its_own_handoffs(store, shop) -> None:
    write_day(store, shop)
    Aggregator(store, ratings=from_database(shop)).run()
    orders = figures(store, team="orders")
    assert orders["handoffs"] == 1 and orders["handoff_reasons"] == {"customer_request": 1}
    assert orders["queue_wait_seconds"] == {"p50": 120.0, "p90": 120.0, "count": 1}
    assert list(orders["agents"]) == ["alice"]


def test_reading_in_small_batches_again_and_after_a_rebuild_gives_the_same_figures(store, shop) -> None:
    write_day(store, shop)
    whole = Aggregator(store, ratings=from_database(shop))
    whole.run()
    once = as_json(figures(store))
    assert whole.run() == 0 and as_json(figures(store)) == once  # nothing new: nothing counted twice
    store.hset(keys.review_message("wamid.kept"), mapping={"text": "a designer's message"})
    small = Aggregator(store, AnalyticsConfig(batch=3), ratings=from_database(shop))
    assert small.rebuild() > 0
    assert as_json(figures(store)) == once
    assert store.exists(keys.review_message("wamid.kept"))  # the texts kept for review are no aggregate


def test_two_aggregators_at_once_count_each_entry_once(store, shop) -> None:
    write_day(store, shop)
    Aggregator(store, ratings=from_database(shop)).run()
    expected = as_json(figures(store))
    for key in store.scan_iter(match=keys.PREFIX + "*"):
        store.delete(key)
    workers = [Aggregator(redis.Redis(connection_pool=store.connection_pool), AnalyticsConfig(batch=2),
                          ratings=from_database(shop)) for _ in range(2)]
    threads = [threading.Thread(target=worker.run) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert as_json(figures(store)) == expected


def test_aggregates_outlive_the_raw_streams(store, shop) -> None:
    write_day(store, shop)
    Aggregator(store, ratings=from_database(shop)).run()
    before = as_json(figures(store))
    store.delete(redis_keys.EVENT_STREAM, redis_keys.PRICING_LOG)  # trimmed away by their bounds
    Aggregator(store, ratings=from_database(shop)).run()
    assert as_json(figures(store)) == before
    assert 0 < store.ttl(keys.day("2026-11-02")) <= AnalyticsConfig().retention_seconds


def test_a_range_of_days_adds_them_up_and_lists_each(store, shop) -> None:
    write_day(store, shop)
    Aggregator(store, ratings=from_database(shop)).run()
    result = compute(read_range(store, DAY, date(2026, 11, 4)))
    assert [(d["date"], d["customer_initiated"]) for d in result["conversations"]["by_day"]] == [
        ("2026-11-02", 4), ("2026-11-03", 0), ("2026-11-04", 1)]
    # A's return on 11-04 is still open: it counts as started, not yet as ended or contained.
    assert result["conversations"]["ended"] == 4 and result["handoff_rate"] == 0.4


def test_a_rating_newer_than_the_events_read_waits_for_them(store, shop) -> None:
    write_day(store, shop)
    script = Script(store, shop)
    script.rating(A, 2, at(4, "10:05"))  # after the newest event (A writes at 10:00 on 11-04)...
    script.rating(B, 3, at(4, "09:00"))  # ...and one stored after it, though older
    aggregator = Aggregator(store, ratings=from_database(shop))
    aggregator.run()
    on_the_4th = compute(read_range(store, date(2026, 11, 4), date(2026, 11, 4)))
    assert on_the_4th["csat"]["bot"]["ratings"] == 0 and on_the_4th["csat"]["agent"]["ratings"] == 0
    script.inbound(A, at(4, "10:06"))
    aggregator.run()
    on_the_4th = compute(read_range(store, date(2026, 11, 4), date(2026, 11, 4)))
    # A's is in A's new (bot) conversation; B's after B's handed one of 11-02 ended.
    assert on_the_4th["csat"]["bot"]["ratings"] == 1 and on_the_4th["csat"]["agent"]["ratings"] == 1


def test_a_send_meta_refused_is_a_failure_by_its_code_though_never_sent(store, shop) -> None:
    write_day(store, shop)
    # As the sender records a permanent refusal (131026 at once, no wamid): the message went to the dead letters.
    Script(store, shop).event(kinds.OUTBOUND_DEAD, at(2, "13:00:08"), recipient=E, code="131026", label="utter_greet")
    Aggregator(store, ratings=from_database(shop)).run()
    delivery = figures(store)["delivery"]
    assert (delivery["sent"], delivery["failed"], delivery["refused"]) == (9, 1, 1)
    assert delivery["failed_by_code"] == {"131026": 2}  # E's failed status and the refused send


def test_the_windows_open_now_are_the_customers_who_wrote_in_the_last_24_hours(store) -> None:
    policy = SyncPolicyStore(store, PolicyConfig(phone_number_id=PHONE))
    now, hour = time.time(), 3600
    for customer, hours_ago in ((A, 0.1), (B, 23.5), (C, 25), (E, 48)):
        policy.record_inbound(customer, utc(now - hours_ago * hour), from_referral=False)
    policy.record_inbound(B, utc(now - 26 * hour), from_referral=False)  # delivered late: B's window stays
    open_at = lambda when: compute(read_range(store, DAY, DAY, number=PHONE, now=when))["open_now"]["windows"]  # noqa: E731
    assert open_at(now) == 2  # A and B; C's ended an hour ago, E's a day ago
    assert store.zcard(redis_keys.open_windows(PHONE)) == 2  # the ended ones are dropped, not kept
    assert open_at(now + 0.5 * hour + 60) == 1  # B's has ended
    assert compute(read_range(store, DAY, DAY, number="another", now=now))["open_now"]["windows"] == 0
    # The key goes when the last window in it ends (A's, in 24 h less 6 minutes).
    assert 23.8 * hour < store.ttl(redis_keys.open_windows(PHONE)) <= 24 * hour


def test_a_range_is_checked() -> None:
    with pytest.raises(ValueError):
        parse_range("2026-11-03", "2026-11-02")
    with pytest.raises(ValueError):
        parse_range("yesterday", "2026-11-02")
    assert parse_range("2026-11-01", "2026-11-02") == (date(2026, 11, 1), date(2026, 11, 2))
