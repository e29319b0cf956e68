"""Every multi-key operation of the WhatsApp library keeps to one hash slot, as Redis Cluster requires.

Three kinds are found and checked with redis-py's own `key_slot` (Redis Cluster's CRC16 of the hash tag):
Lua scripts given several keys, MULTI transactions (`redis_connection.transaction`/`async_transaction`),
and the policy store's programs, run step by step without Redis. A new one of any kind fails the
completeness checks here until it is listed with the keys its caller gives it.
"""

import ast
import inspect
from datetime import datetime, timezone
from typing import Any, Dict, List, Set

from redis.cluster import key_slot

from analytics import keys as analytics_keys
from campaigns import keys as campaign_keys
from handoff import contract
from outgoing_webhooks import keys as outgoing_keys
from stack import handoff_keys
from stack.settings import ROOT
from whatsapp_cloud import redis_keys, redis_programs
from whatsapp_cloud.policy import store
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.streams import customer_order

PACKAGES = ("bot", "handoff", "campaigns", "analytics", "privacy", "ingest", "whatsapp_cloud", "shop", "stack",
            "tools", "cloud_api_standin", "simulation", "outgoing_webhooks")
NOT_KEYS = {"customer_messages_path"}  # a function of the keys modules that names no key
CUSTOMERS = ("15551230001", "15551230002", "447700900123", "4915112340099")
NUMBER = "100000000000001"


def slots(keys: List[str]) -> Set[int]:
    return {key_slot(key.encode()) for key in keys}


# Scripts run with several keys outside the policy store's programs, with the keys their callers give them.
SCRIPTS: Dict[str, Any] = {
    "whatsapp_cloud/streams/customer_order.py APPEND": lambda customers: [
        redis_keys.WEBHOOK_STREAM, *(redis_keys.customer_order(c) for c in customers)],
    "whatsapp_cloud/streams/customer_order.py COMPLETE": lambda customers: [
        redis_keys.customer_order(c) for c in customers],
}

# MULTI transactions: where they are, and the keys they queue.
TRANSACTIONS: Dict[str, Any] = {
    "whatsapp_cloud/streams/webhook_stream.py": lambda customers: [redis_keys.WEBHOOK_STREAM],  # ack: XACK + XDEL
    "whatsapp_cloud/streams/dead_letters.py": lambda customers: [
        redis_keys.WEBHOOK_DEAD, redis_keys.WEBHOOK_STREAM, redis_keys.WEBHOOK_ATTEMPTS],
    "whatsapp_cloud/outbound/offered_payloads.py": lambda customers: [redis_keys.offered_payloads(customers[0])],
    # The cost ledger: the customer's state, the totals (all-time and the month's), the spend ranking, the
    # allowance count, its log and the event stream, in one transaction (twice: async and blocking).
    "whatsapp_cloud/pricing/cost_ledger.py": lambda customers: [
        *(redis_keys.pricing_customer(c) for c in customers), redis_keys.PRICING_TOTALS,
        redis_keys.pricing_month_totals("2026-12"), redis_keys.PRICING_SPEND, redis_keys.PRICING_LOG,
        redis_keys.service_allowance(NUMBER, "2026-12"), redis_keys.EVENT_STREAM],
    "whatsapp_cloud/redis_programs.py": None,  # the programs' runner: each program checked below
}

# Program steps whose writes span slots on purpose, and why that is safe.
SPLIT_ON_PURPOSE = {
    # The messaging-limit count ({wa}) is written before the customer's windows: a crash between the two
    # transactions leaves the customer counted (the limit errs on the safe side); ZADD counts nobody twice.
    "business_message_program",
    # The index of open windows is written after the customer's windows: a crash between the two leaves the
    # count one window short until the customer writes again, never a window that is not open.
    "inbound_program",
}
READS = {"get", "hget", "hgetall", "zcount", "zscore", "llen", "lrange", "exists", "smembers", "zrangebyscore"}


def test_the_scripts_given_several_keys_get_keys_of_one_slot() -> None:
    for where, keys_for in SCRIPTS.items():
        assert len(slots(keys_for(CUSTOMERS))) == 1, where
    # One customer's keys alone are in another slot than the stream when untagged: the check can fail.
    assert len(slots([redis_keys.WEBHOOK_STREAM, "wa:order:" + CUSTOMERS[0]])) == 2


def test_every_script_with_several_keys_is_listed_or_run_by_a_program() -> None:
    listed = {where.rsplit(" ", 1)[1] for where in SCRIPTS}
    programs = inspect.getsource(store)
    found = set()
    for path in sorted((ROOT / "whatsapp_cloud").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                    isinstance(node.value.value, str) and "redis.call(" in node.value.value:
                text = node.value.value
                if "KEYS[2]" in text or "#KEYS" in text:
                    name = node.targets[0].id  # type: ignore[attr-defined]
                    found.add(name)
                    assert name in listed or f"lua.{name}," in programs, f"{path}: {name} is not checked"
    assert found >= {"APPEND", "COMPLETE", "CONSENT", "TEMPLATE_OVERRIDE", "REMOVE_DEFERRED"}
    assert customer_order.APPEND and customer_order.COMPLETE  # the listed ones exist under these names


def test_every_transaction_queues_keys_of_one_slot() -> None:
    for where, keys_for in TRANSACTIONS.items():
        if keys_for is not None:
            assert len(slots(keys_for(CUSTOMERS))) == 1, where


def test_every_transaction_is_listed() -> None:
    places = set()
    for path in sorted((ROOT / "whatsapp_cloud").rglob("*.py")):
        text = path.read_text()
        if path.name != "redis_connection.py" and ("transaction(self.store" in text or "transaction(store" in text):
            places.add(str(path.relative_to(ROOT)))
    assert places == set(TRANSACTIONS)


def test_no_transaction_is_opened_on_the_client_itself() -> None:
    """A cluster client of redis-py 4.6 refuses MULTI (or, with `.pipeline()`, silently runs none): every
    transaction of the project goes through redis_connection, on the node of its keys' slot."""
    refused = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                        node.func.attr == "pipeline" and path.name != "redis_connection.py":
                    options = {k.arg: k.value for k in node.keywords}
                    plain = isinstance(options.get("transaction"), ast.Constant) and \
                        options["transaction"].value is False
                    if not plain:
                        refused.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert refused == []


def test_every_client_is_made_by_redis_connection() -> None:
    """A client made with redis-py's `from_url` or `Redis(...)` reads neither `redis+cluster://`,
    `redis+sentinel://` nor REDIS_TLS_CA: on such a deployment that process would fail (the outgoing webhooks'
    worker, two bot actions and two operator commands did)."""
    made = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "redis_connection.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                        node.func.attr == "from_url" or node.func.attr in ("Redis", "StrictRedis", "RedisCluster")):
                    made.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert made == []


def test_the_keys_of_the_handoff_campaigns_analytics_and_outgoing_webhooks_share_the_event_streams_slot() -> None:
    """Their scripts and transactions write their own keys with `{wa}:events` (and the cost ledger's): every
    key they name carries the `{wa}` tag, so whatever they combine is one slot."""
    modules = [handoff_keys, contract, campaign_keys, analytics_keys, outgoing_keys]
    names = []
    for module in modules:
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and ":" in value and name != "KEY_PREFIX":
                names.append(value)
            elif inspect.isfunction(value) and value.__module__ == module.__name__ and \
                    set(inspect.signature(value).parameters) and value.__name__ not in NOT_KEYS:
                named = value(*("x" for _ in inspect.signature(value).parameters))
                names.extend([named] if isinstance(named, str) else named)  # all_of: a campaign's keys
    assert len(names) >= 40
    assert slots([*names, redis_keys.EVENT_STREAM, redis_keys.PRICING_LOG]) == slots([redis_keys.EVENT_STREAM])
    assert all(name.startswith(redis_keys.SHARED + ":") for name in names), names


def _sample(parameter: inspect.Parameter) -> Any:
    at = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)
    return {
        "recipient": CUSTOMERS[0], "config": PolicyConfig(phone_number_id=NUMBER, hash_key="k"), "at": at,
        "sent_at": at, "expires_at": at, "before": at, "from_referral": True, "outside_window": True,
        "status": "in", "scopes": ("utility",), "source": "test", "wording": "yes", "item": {"message": {}},
        "for_capacity": True, "stored": "{}", "token": "t", "seconds": 30, "wamid": "wamid.1", "plan": {},
        "field": "status", "key": "order_update:en_US", "value": "PAUSED", "recorded_by": "alice",
        "number": NUMBER, "now": at.timestamp(),
    }[parameter.name]


def test_every_write_of_a_policy_program_keeps_to_one_slot() -> None:
    programs = {name: f for name, f in vars(store).items() if name.endswith("_program") and inspect.isfunction(f)}
    assert len(programs) >= 20
    spanning = set()
    for name, make in programs.items():
        program = make(*(_sample(p) for p in inspect.signature(make).parameters.values()))
        try:
            commands = next(program)
        except StopIteration:
            continue  # nothing asked of Redis (the clock without the test clock)
        keys = [key for command in commands for key in redis_programs.command_keys(command)]
        writes = [command for command in commands if command[0] not in READS]
        if writes and len(slots(keys)) > 1:
            spanning.add(name)
    assert spanning == SPLIT_ON_PURPOSE


def test_the_split_program_runs_the_count_before_the_windows() -> None:
    program = store.business_message_program(CUSTOMERS[0], datetime.now(timezone.utc), True, PolicyConfig())
    batch = next(program)
    groups = redis_programs.by_slot(batch, cluster=True)
    assert redis_programs.by_slot(batch, cluster=False) == [[0, 1, 2]]  # one transaction on a single server
    assert [batch[i][0] for i in groups[0]] == ["zadd", "zremrangebyscore"]
    assert [batch[i][0] for i in groups[1]] == ["eval"]
