"""Window and consent updates are atomic and monotonic: concurrent writers on a real Redis, in any
order, leave the state that the latest event by its own time decides (hypothesis property tests)."""

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import List, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whatsapp_cloud import redis_connection
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.store import SyncPolicyStore
from whatsapp_cloud.policy.windows import WindowConfig, Windows, after_business_message, after_inbound

# From now: Redis drops a windows key a day after its last window ends (whatsapp_cloud/retention.py), so
# windows timed from a fixed date would vanish as written once that date is two days old.
BASE = datetime.now(timezone.utc).replace(microsecond=0)
NUMBER = "100000000000001"
CONFIG = PolicyConfig(phone_number_id=NUMBER)
EXAMPLES = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def concurrently(redis_url: str, writers: int, work: List, apply) -> None:
    """Apply `work` items from `writers` threads, each with its own connection, in a shuffled order."""
    random.shuffle(work)
    slices = [work[i::writers] for i in range(writers)]

    def run(items: List) -> None:
        store = SyncPolicyStore(redis_connection.blocking(redis_url), CONFIG)
        for item in items:
            apply(store, item)

    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(run, slices))


customer_messages = st.lists(st.tuples(st.integers(0, 7 * 24 * 3600), st.booleans()), min_size=1, max_size=40)


@EXAMPLES
@given(messages=customer_messages, writers=st.integers(2, 6))
def test_concurrent_customer_messages_leave_the_latest_windows(redis_url, messages, writers):
    customer = uuid.uuid4().hex
    sent = [(BASE + timedelta(seconds=offset), referral) for offset, referral in messages]
    concurrently(redis_url, writers, list(sent),
                 lambda store, m: store.record_inbound(customer, m[0], from_referral=m[1]))
    windows = SyncPolicyStore(redis_connection.blocking(redis_url), CONFIG).snapshot(customer).state.windows
    assert windows.service_until == max(at for at, _ in sent) + timedelta(hours=24)
    referred = [at for at, referral in sent if referral]
    assert windows.referral_reply_by == (max(referred) + timedelta(hours=24) if referred else None)


consent_records = st.lists(
    st.tuples(st.integers(0, 3600), st.sampled_from(["in", "out"]),
              st.sampled_from([("utility",), ("marketing",), ("utility", "marketing")])),
    min_size=1, max_size=40)


@EXAMPLES
@given(records=consent_records, writers=st.integers(2, 6))
def test_concurrent_consent_records_leave_the_latest_per_scope(redis_url, records, writers):
    customer = uuid.uuid4().hex
    concurrently(redis_url, writers, list(records),
                 lambda store, r: store.record_consent(customer, r[1], r[2], "keyword", "test",
                                                       at=BASE + timedelta(seconds=r[0])))
    consent = SyncPolicyStore(redis_connection.blocking(redis_url), CONFIG).snapshot(customer).state.consent
    for scope in ("utility", "marketing"):
        said = [(offset, status == "out") for offset, status, scopes in records if scope in scopes]
        if not said:
            assert scope not in consent.records
            continue
        _, latest_is_out = max(said)  # the latest by the customer's time; an opt-out wins a tie
        assert consent.records[scope].status == ("out" if latest_is_out else "in")


operations = st.lists(st.tuples(st.sampled_from(["inbound", "referral", "business"]), st.integers(0, 5 * 24 * 3600)),
                      min_size=1, max_size=30)


@EXAMPLES
@given(steps=operations)
def test_the_scripts_apply_the_window_rules_of_windows_py(redis_url, steps):
    customer = uuid.uuid4().hex
    store = SyncPolicyStore(redis_connection.blocking(redis_url), CONFIG)
    expected, rules = Windows(), WindowConfig()
    for kind, offset in steps:
        at = BASE + timedelta(seconds=offset)
        if kind == "business":
            expected = after_business_message(expected, at, rules)
            got = store.record_business_message(customer, at, outside_window=False)
        else:
            expected = after_inbound(expected, at, kind == "referral", rules)
            got = store.record_inbound(customer, at, from_referral=kind == "referral")
        assert _seconds(got) == _seconds(expected)


def _seconds(w: Windows) -> Tuple:
    return tuple(round(v.timestamp(), 3) if v else None
                 for v in (w.service_until, w.referral_reply_by, w.free_entry_until))


def test_a_late_opt_in_never_overwrites_a_newer_opt_out(redis_url):
    store = SyncPolicyStore(redis_connection.blocking(redis_url), CONFIG)
    assert store.record_consent("c1", "out", ("marketing",), "keyword", "STOP", at=BASE + timedelta(minutes=5))
    assert store.record_consent("c1", "in", ("marketing",), "keyword", "START", at=BASE) == ()
    assert store.snapshot("c1").state.consent.opted_out("marketing")
    # A repeated opt-in keeps how consent was first given, yet counts as the latest word of the customer.
    store.record_consent("c2", "in", ("marketing",), "website", "tick box", at=BASE)
    store.record_consent("c2", "in", ("marketing",), "keyword", "START", at=BASE + timedelta(hours=2))
    store.record_consent("c2", "out", ("marketing",), "keyword", "STOP", at=BASE + timedelta(hours=1))
    record = store.snapshot("c2").state.consent.records["marketing"]
    assert (record.status, record.source) == ("in", "website")


def test_windows_and_consent_are_kept_per_business_number(redis_url):
    connection = redis_connection.blocking(redis_url)
    first = SyncPolicyStore(connection, CONFIG)
    second = SyncPolicyStore(connection, PolicyConfig(phone_number_id="100000000000009"))
    first.record_inbound("c3", BASE, from_referral=False)
    first.record_consent("c3", "out", ("marketing",), "keyword", "STOP", at=BASE)
    assert first.snapshot("c3").state.windows.service_until is not None
    assert second.snapshot("c3").state.windows.service_until is None  # the customer wrote to the other number
    assert not second.snapshot("c3").state.consent.opted_out("marketing")


def test_state_of_the_per_customer_keys_of_earlier_releases_still_counts(redis_url):
    connection = redis_connection.blocking(redis_url)
    earlier = SyncPolicyStore(connection, PolicyConfig())  # no number: the keys earlier releases wrote
    earlier.record_consent("c4", "out", ("utility", "marketing"), "keyword", "STOP", at=BASE)
    earlier.record_inbound("c4", BASE, from_referral=False)
    now = SyncPolicyStore(connection, CONFIG).snapshot("c4").state
    assert now.consent.opted_out("marketing") and now.windows.service_until == BASE + timedelta(hours=24)
