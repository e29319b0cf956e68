"""The policy's state in Redis: windows, consent ledger, messaging-limit usage, deferred messages, send plans.

Each operation is written once, as a small program that yields the Redis commands it needs and gets
their results back; `PolicyStore` runs programs on redis.asyncio (Rasa), `SyncPolicyStore` on redis-py
(the Flask handoff service). No rule lives here: windows.py, consent.py and decision.py decide.

Every update of a window, a consent record or a template override is one Lua script (lua.py): atomic,
and monotonic by the event's own time, whatever order concurrent processes apply them in. Windows and
consent are kept per business number (`phone_number_id`) and customer; the per-customer keys of
earlier releases are still read and merged, so nothing recorded before is forgotten.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

import redis
import redis.asyncio as aioredis

from whatsapp_cloud import pseudonyms, redis_keys
from whatsapp_cloud.policy import lua
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.consent import SCOPES, Consent, ConsentRecord, records_from_hash
from whatsapp_cloud.policy.decision import LimitUsage, RecipientState
from whatsapp_cloud.policy.windows import Windows
from whatsapp_cloud.redis_programs import Command, Program, run_async, run_sync
from whatsapp_cloud.redis_values import as_text

LIMIT_PERIOD = timedelta(hours=24)
PLAN_SECONDS = 8 * 24 * 3600
WINDOW_FIELDS = ("service_until", "referral_reply_by", "free_entry_until")


@dataclass(frozen=True)
class Snapshot:
    """Everything the decision needs about one recipient, read in one round trip."""

    now: datetime
    state: RecipientState
    template_status: Dict[str, str]
    template_category: Dict[str, str]


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


# --- programs: the logic of each operation, independent of sync or async I/O ---

def clock_program(config: PolicyConfig) -> Program:
    if not config.test_clock:
        return utc(time.time())
    (offset,) = yield [("get", (redis_keys.TEST_CLOCK_OFFSET,))]
    return utc(time.time() + float(as_text(offset) if offset else 0))


def snapshot_program(recipient: str, config: PolicyConfig) -> Program:
    now = yield from clock_program(config)
    since = (now - LIMIT_PERIOD).timestamp()
    number = config.phone_number_id
    windows, old_windows, consent, old_consent, used, counted, statuses, categories, waiting, erased = yield [
        ("hgetall", (redis_keys.windows(recipient, number),)),
        ("hgetall", (redis_keys.windows(recipient),)),
        ("hgetall", (redis_keys.consent(recipient, number),)),
        ("hgetall", (redis_keys.consent(recipient),)),
        ("zcount", (redis_keys.LIMIT_REACHED, since, "+inf")),
        ("zscore", (redis_keys.LIMIT_REACHED, recipient)),
        ("hgetall", (redis_keys.TEMPLATE_STATUS,)),
        ("hgetall", (redis_keys.TEMPLATE_CATEGORY,)),
        ("llen", (redis_keys.deferred(recipient),)),
        ("hget", (redis_keys.SUPPRESSED, pseudonyms.keyed_hash(recipient, config.hash_key))),
    ]
    own_windows = _windows(windows)
    if number and old_windows:
        own_windows = _later_windows(own_windows, _windows(old_windows))
    own_consent = records_from_hash(_texts(consent))
    if number and old_consent:
        own_consent = _latest_consent(own_consent, records_from_hash(_texts(old_consent)))
    if erased:
        own_consent = _latest_consent(own_consent, suppressed_consent(as_text(erased)))
    state = RecipientState(
        windows=own_windows,
        consent=own_consent,
        limit=LimitUsage(used=int(used), recipient_counted=counted is not None and float(counted) > since,
                         tier=config.tier),
        waiting=int(waiting),
    )
    return Snapshot(now, state, _texts(statuses), _texts(categories))


def inbound_program(recipient: str, sent_at: datetime, from_referral: bool, config: PolicyConfig) -> Program:
    _require_aware(sent_at)
    reply_by = _stamp(sent_at + config.windows.free_entry_reply_deadline) if from_referral else ""
    service_until = _stamp(sent_at + config.windows.service)
    # The index of open windows is another key (another slot on a cluster): written after, on its own, as an
    # index that a crash between the two leaves one window short at worst, never one too long.
    stored, _ = yield [("eval", (lua.INBOUND, 1, redis_keys.windows(recipient, config.phone_number_id),
                                 service_until, reply_by, config.retention.windows_grace_seconds)),
                       ("eval", (lua.OPEN_WINDOW, 1, redis_keys.open_windows(config.phone_number_id),
                                 recipient, service_until, _stamp(sent_at)))]
    return _windows(_pairs(stored))


def open_windows_program(number: str, now: float) -> Program:
    """How many customers' service windows with `number` are open at `now` (Unix seconds); drops the ended."""
    key = redis_keys.open_windows(number)
    _, count = yield [("zremrangebyscore", (key, "-inf", f"({now!r}")), ("zcard", (key,))]
    return int(count)


def business_message_program(recipient: str, at: datetime, outside_window: bool, config: PolicyConfig) -> Program:
    _require_aware(at)
    commands: List[Command] = []
    if outside_window:  # one more unique customer reached outside a window (or the same one, later)
        commands += [("zadd", (redis_keys.LIMIT_REACHED, {recipient: at.timestamp()})),
                     ("zremrangebyscore", (redis_keys.LIMIT_REACHED, "-inf", (at - LIMIT_PERIOD).timestamp()))]
    # The customer's windows are in another hash slot than the messaging-limit count: on Redis Cluster these
    # are two transactions, the count first, so a crash between them counts the customer without the send
    # having opened a window: the limit errs on the safe side, and a retried send counts nobody twice (ZADD).
    commands.append(("eval", (lua.BUSINESS_MESSAGE, 1, redis_keys.windows(recipient, config.phone_number_id),
                              _stamp(at), config.windows.free_entry.total_seconds(),
                              config.retention.windows_grace_seconds)))
    *_, stored = yield commands
    return _windows(_pairs(stored))


def expiration_program(recipient: str, expires_at: datetime, config: PolicyConfig) -> Program:
    _require_aware(expires_at)
    (stored,) = yield [("eval", (lua.CONVERSATION_EXPIRATION, 1,
                                 redis_keys.windows(recipient, config.phone_number_id), _stamp(expires_at),
                                 config.retention.windows_grace_seconds))]
    return _windows(_pairs(stored))


def consent_program(
    recipient: str, status: str, scopes: Sequence[str], source: str, wording: str, at: datetime, config: PolicyConfig,
    recorded_by: str = "",
) -> Program:
    """Record an opt-in or opt-out; returns the scopes it changed (none when it repeats the current state).

    `recorded_by` names the person who recorded it (an agent the customer told in the chat), kept for audits.

    The stored record of a scope is the latest by the customer's own time: a record older than it
    (a late webhook, a redelivered message) changes nothing.
    """
    _require_aware(at)
    record = json.dumps({"status": status, "at": at.isoformat(), "ts": repr(at.timestamp()), "source": source,
                         "wording": wording, **({"by": recorded_by} if recorded_by else {})})
    (changed,) = yield [("eval", (lua.CONSENT, 2, redis_keys.consent(recipient, config.phone_number_id),
                                  redis_keys.CONSENT_LOG, status, repr(at.timestamp()), at.isoformat(), record,
                                  config.retention.consent_log_max, recipient, source, wording,
                                  config.phone_number_id, recorded_by, *scopes))]
    return tuple(as_text(scope) for scope in changed)


def confirm_consent_program(recipient: str, wording: str, at: datetime, config: PolicyConfig,
                            scopes: Sequence[str] = SCOPES) -> Program:
    """Note the customer's confirmation on their opt-ins; returns the scopes noted (none the second time)."""
    _require_aware(at)
    (noted,) = yield [("eval", (lua.CONSENT_CONFIRM, 2, redis_keys.consent(recipient, config.phone_number_id),
                                redis_keys.CONSENT_LOG, at.isoformat(), wording, config.retention.consent_log_max,
                                recipient, config.phone_number_id, *scopes))]
    return tuple(as_text(scope) for scope in noted)


def defer_program(recipient: str, item: Dict[str, Any], for_capacity: bool, config: PolicyConfig) -> Program:
    key = redis_keys.deferred(recipient)
    item = {**item, "ts": item.get("ts") or time.time()}  # its age decides when it expires
    commands: List[Command] = [("rpush", (key, json.dumps(item))),
                               ("expire", (key, config.retention.deferred_key_seconds)),
                               ("zadd_nx", (redis_keys.DEFERRED_SINCE, {recipient: item["ts"]}))]
    if for_capacity:
        commands.append(("sadd", (redis_keys.DEFERRED_FOR_CAPACITY, recipient)))
    yield commands


def deferred_program(recipient: str) -> Program:
    (items,) = yield [("lrange", (redis_keys.deferred(recipient), 0, -1))]
    return [json.loads(as_text(i)) for i in items]


def deferred_entries_program(recipient: str) -> Program:
    """The waiting items with their stored text, which identifies each one for its removal."""
    (items,) = yield [("lrange", (redis_keys.deferred(recipient), 0, -1))]
    return [(as_text(i), json.loads(as_text(i))) for i in items]


def has_deferred_program(recipient: str) -> Program:
    (count,) = yield [("exists", (redis_keys.deferred(recipient),))]
    return bool(count)


def remove_deferred_program(recipient: str, stored: str) -> Program:
    (removed,) = yield [("eval", (lua.REMOVE_DEFERRED, 3, redis_keys.deferred(recipient),
                                  redis_keys.DEFERRED_FOR_CAPACITY, redis_keys.DEFERRED_SINCE, stored, recipient))]
    return bool(removed)


def forget_deferred_program(recipient: str) -> Program:
    yield [("srem", (redis_keys.DEFERRED_FOR_CAPACITY, recipient)), ("zrem", (redis_keys.DEFERRED_SINCE, recipient))]


def lock_deferred_program(recipient: str, token: str, seconds: int) -> Program:
    (taken,) = yield [("set_nx", (redis_keys.deferred_lock(recipient), token, seconds))]
    return bool(taken)


def extend_deferred_lock_program(recipient: str, token: str, seconds: int) -> Program:
    (held,) = yield [("eval", (lua.EXTEND_LOCK, 1, redis_keys.deferred_lock(recipient), token, seconds))]
    return bool(held)


def unlock_deferred_program(recipient: str, token: str) -> Program:
    yield [("eval", (lua.RELEASE_LOCK, 1, redis_keys.deferred_lock(recipient), token))]


def waiting_for_capacity_program() -> Program:
    (members,) = yield [("smembers", (redis_keys.DEFERRED_FOR_CAPACITY,))]
    return sorted(as_text(m) for m in members)


def waiting_since_program(before: datetime) -> Program:
    """Customers whose oldest deferred message was deferred before `before`."""
    (members,) = yield [("zrangebyscore", (redis_keys.DEFERRED_SINCE, "-inf", before.timestamp()))]
    return [as_text(m) for m in members]


def suppress_program(recipient: str, scopes: Sequence[str], at: datetime, config: PolicyConfig) -> Program:
    """Put a customer whose data is being erased on the suppression list by keyed hash only, with the scopes
    they had opted out of, so the erasure of their consent records does not let templates through."""
    _require_aware(at)
    value = json.dumps({"at": at.timestamp(), "scopes": sorted(scopes)})
    yield [("hset", (redis_keys.SUPPRESSED, pseudonyms.keyed_hash(recipient, config.hash_key), value))]


def save_plan_program(wamid: str, plan: Dict[str, Any]) -> Program:
    yield [("set", (redis_keys.send_plan(wamid), json.dumps(plan), PLAN_SECONDS))]


def plan_program(wamid: str) -> Program:
    (stored,) = yield [("get", (redis_keys.send_plan(wamid),))]
    return json.loads(as_text(stored)) if stored else None


def drop_plan_program(wamid: str) -> Program:
    yield [("delete", (redis_keys.send_plan(wamid),))]


def template_override_program(field: str, key: str, value: str, at: datetime) -> Program:
    """Meta's latest word on a template, by Meta's own time: a late PAUSED never undoes a newer APPROVED."""
    target, times = ((redis_keys.TEMPLATE_STATUS, redis_keys.TEMPLATE_STATUS_AT) if field == "status"
                     else (redis_keys.TEMPLATE_CATEGORY, redis_keys.TEMPLATE_CATEGORY_AT))
    (applied,) = yield [("eval", (lua.TEMPLATE_OVERRIDE, 2, target, times, key, value, repr(at.timestamp())))]
    return bool(applied)


def reset_template_overrides_program() -> Program:
    """After the registry file was refreshed from Meta, it is the truth again."""
    yield [("delete", (redis_keys.TEMPLATE_STATUS, redis_keys.TEMPLATE_STATUS_AT,
                       redis_keys.TEMPLATE_CATEGORY, redis_keys.TEMPLATE_CATEGORY_AT))]


def set_clock_offset_program(seconds: float) -> Program:
    yield [("set", (redis_keys.TEST_CLOCK_OFFSET, repr(float(seconds))))]


# --- runners ---

class PolicyStore:
    """The policy's Redis state for async code (redis.asyncio)."""

    def __init__(self, store: aioredis.Redis, config: PolicyConfig) -> None:
        self.redis = store
        self.config = config

    def for_number(self, phone_number_id: str) -> "PolicyStore":
        """The same state as seen by another business number (its own windows and consent)."""
        if not phone_number_id or phone_number_id == self.config.phone_number_id:
            return self
        return PolicyStore(self.redis, replace(self.config, phone_number_id=phone_number_id))

    async def run(self, program: Program) -> Any:
        return await run_async(self.redis, program)

    async def now(self) -> datetime:
        return await self.run(clock_program(self.config))

    async def snapshot(self, recipient: str) -> Snapshot:
        return await self.run(snapshot_program(recipient, self.config))

    async def record_inbound(self, recipient: str, sent_at: datetime, from_referral: bool) -> Windows:
        return await self.run(inbound_program(recipient, sent_at, from_referral, self.config))

    async def record_business_message(self, recipient: str, at: datetime, outside_window: bool) -> Windows:
        return await self.run(business_message_program(recipient, at, outside_window, self.config))

    async def record_conversation_expiration(self, recipient: str, expires_at: datetime) -> Windows:
        return await self.run(expiration_program(recipient, expires_at, self.config))

    async def record_consent(self, recipient: str, status: str, scopes: Sequence[str], source: str,
                             wording: str = "", at: Optional[datetime] = None,
                             recorded_by: str = "") -> Tuple[str, ...]:
        at = at or await self.now()
        return await self.run(consent_program(recipient, status, scopes, source, wording, at, self.config,
                                              recorded_by))

    async def confirm_consent(self, recipient: str, wording: str, at: Optional[datetime] = None) -> Tuple[str, ...]:
        return await self.run(confirm_consent_program(recipient, wording, at or await self.now(), self.config))

    async def consent(self, recipient: str) -> Consent:
        return (await self.snapshot(recipient)).state.consent

    async def defer(self, recipient: str, item: Dict[str, Any], for_capacity: bool) -> None:
        await self.run(defer_program(recipient, item, for_capacity, self.config))

    async def deferred(self, recipient: str) -> List[Dict[str, Any]]:
        return await self.run(deferred_program(recipient))

    async def deferred_entries(self, recipient: str) -> List[Tuple[str, Dict[str, Any]]]:
        return await self.run(deferred_entries_program(recipient))

    async def has_deferred(self, recipient: str) -> bool:
        return await self.run(has_deferred_program(recipient))

    async def remove_deferred(self, recipient: str, stored: str) -> bool:
        return await self.run(remove_deferred_program(recipient, stored))

    async def forget_deferred(self, recipient: str) -> None:
        await self.run(forget_deferred_program(recipient))

    async def lock_deferred(self, recipient: str, token: str, seconds: int = 120) -> bool:
        return await self.run(lock_deferred_program(recipient, token, seconds))

    async def extend_deferred_lock(self, recipient: str, token: str, seconds: int = 120) -> bool:
        return await self.run(extend_deferred_lock_program(recipient, token, seconds))

    async def unlock_deferred(self, recipient: str, token: str) -> None:
        await self.run(unlock_deferred_program(recipient, token))

    async def waiting_for_capacity(self) -> List[str]:
        return await self.run(waiting_for_capacity_program())

    async def waiting_since(self, before: datetime) -> List[str]:
        return await self.run(waiting_since_program(before))

    async def save_plan(self, wamid: str, plan: Dict[str, Any]) -> None:
        await self.run(save_plan_program(wamid, plan))

    async def plan(self, wamid: str) -> Optional[Dict[str, Any]]:
        return await self.run(plan_program(wamid))

    async def drop_plan(self, wamid: str) -> None:
        await self.run(drop_plan_program(wamid))

    async def override_template(self, field: str, key: str, value: str, at: Optional[datetime] = None) -> bool:
        return await self.run(template_override_program(field, key, value, at or await self.now()))


class SyncPolicyStore:
    """The same state for blocking code (Flask, command-line tools, the stand-in)."""

    def __init__(self, store: redis.Redis, config: PolicyConfig) -> None:
        self.redis = store
        self.config = config

    def run(self, program: Program) -> Any:
        return run_sync(self.redis, program)

    def now(self) -> datetime:
        return self.run(clock_program(self.config))

    def snapshot(self, recipient: str) -> Snapshot:
        return self.run(snapshot_program(recipient, self.config))

    def record_inbound(self, recipient: str, sent_at: datetime, from_referral: bool) -> Windows:
        return self.run(inbound_program(recipient, sent_at, from_referral, self.config))

    def record_business_message(self, recipient: str, at: datetime, outside_window: bool) -> Windows:
        return self.run(business_message_program(recipient, at, outside_window, self.config))

    def record_conversation_expiration(self, recipient: str, expires_at: datetime) -> Windows:
        return self.run(expiration_program(recipient, expires_at, self.config))

    def record_consent(self, recipient: str, status: str, scopes: Sequence[str], source: str,
                       wording: str = "", at: Optional[datetime] = None, recorded_by: str = "") -> Tuple[str, ...]:
        return self.run(consent_program(recipient, status, scopes, source, wording, at or self.now(), self.config,
                                        recorded_by))

    def confirm_consent(self, recipient: str, wording: str, at: Optional[datetime] = None) -> Tuple[str, ...]:
        return self.run(confirm_consent_program(recipient, wording, at or self.now(), self.config))

    def set_clock_offset(self, seconds: float) -> None:
        self.run(set_clock_offset_program(seconds))

    def deferred(self, recipient: str) -> List[Dict[str, Any]]:
        return self.run(deferred_program(recipient))

    def override_template(self, field: str, key: str, value: str, at: Optional[datetime] = None) -> bool:
        return self.run(template_override_program(field, key, value, at or self.now()))

    def reset_template_overrides(self) -> None:
        self.run(reset_template_overrides_program())


def _windows(stored: Dict[Any, Any]) -> Windows:
    fields = _texts(stored)
    return Windows(**{name: utc(float(fields[name])) if fields.get(name) else None for name in WINDOW_FIELDS})


def _pairs(flat: Sequence[Any]) -> Dict[Any, Any]:
    """A Lua script's HGETALL answer (a flat list) as a mapping."""
    items = list(flat or [])
    return dict(zip(items[0::2], items[1::2], strict=True))


def _stamp(moment: datetime) -> str:
    return repr(moment.timestamp())


def _later_windows(a: Windows, b: Windows) -> Windows:
    return Windows(**{name: max(filter(None, (getattr(a, name), getattr(b, name))), default=None)
                      for name in WINDOW_FIELDS})


def _latest_consent(a: Consent, b: Consent) -> Consent:
    """Per scope the later record (an opt-out wins a tie), as the consent script decides."""
    merged = dict(b.records)
    for scope, record in a.records.items():
        other = merged.get(scope)
        if other is None or _consent_order(record) >= _consent_order(other):
            merged[scope] = record
    return Consent(merged)


def suppressed_consent(stored: str) -> Consent:
    """A suppression-list entry read as what it stands for: the opt-outs the customer had when their data was
    erased. An opt-in they give afterwards is newer and wins, as with any record."""
    data = json.loads(stored)
    record = ConsentRecord("out", utc(float(data["at"])), "erased")
    return Consent({scope: record for scope in data["scopes"]})


def _consent_order(record: ConsentRecord) -> Tuple[int, int]:
    return int(record.at.timestamp()), 1 if record.status == "out" else 0


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"policy times must be timezone-aware, got naive {moment.isoformat()}")


def _texts(stored: Dict[Any, Any]) -> Dict[str, str]:
    return {as_text(k): as_text(v) for k, v in (stored or {}).items()}
