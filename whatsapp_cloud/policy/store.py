"""The policy's state in Redis: windows, consent ledger, messaging-limit usage, deferred messages, send plans.

Each operation is written once, as a small program that yields the Redis commands it needs and gets
their results back; `PolicyStore` runs programs on redis.asyncio (Rasa), `SyncPolicyStore` on redis-py
(the Flask handoff service). No rule lives here: windows.py, consent.py and decision.py decide.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Generator, Iterable, List, Optional, Sequence, Tuple

import redis
import redis.asyncio as aioredis

from whatsapp_cloud import redis_keys
from whatsapp_cloud.policy.config import PolicyConfig
from whatsapp_cloud.policy.consent import Consent, ConsentRecord, changes, records_from_hash
from whatsapp_cloud.policy.decision import LimitUsage, RecipientState
from whatsapp_cloud.policy.windows import Windows, after_business_message, after_inbound, with_conversation_expiration
from whatsapp_cloud.redis_values import as_text

Command = Tuple[str, Tuple[Any, ...]]
Program = Generator[List[Command], List[Any], Any]

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
    windows, consent, used, counted, statuses, categories, waiting = yield [
        ("hgetall", (redis_keys.windows(recipient),)),
        ("hgetall", (redis_keys.consent(recipient),)),
        ("zcount", (redis_keys.LIMIT_REACHED, since, "+inf")),
        ("zscore", (redis_keys.LIMIT_REACHED, recipient)),
        ("hgetall", (redis_keys.TEMPLATE_STATUS,)),
        ("hgetall", (redis_keys.TEMPLATE_CATEGORY,)),
        ("llen", (redis_keys.deferred(recipient),)),
    ]
    state = RecipientState(
        windows=_windows(windows),
        consent=records_from_hash(_texts(consent)),
        limit=LimitUsage(used=int(used), recipient_counted=counted is not None and float(counted) > since,
                         tier=config.tier),
        waiting=int(waiting),
    )
    return Snapshot(now, state, _texts(statuses), _texts(categories))


def inbound_program(recipient: str, sent_at: datetime, from_referral: bool, config: PolicyConfig) -> Program:
    (stored,) = yield [("hgetall", (redis_keys.windows(recipient),))]
    updated = after_inbound(_windows(stored), sent_at, from_referral, config.windows)
    yield _write_windows(recipient, updated)
    return updated


def business_message_program(recipient: str, at: datetime, outside_window: bool, config: PolicyConfig) -> Program:
    (stored,) = yield [("hgetall", (redis_keys.windows(recipient),))]
    updated = after_business_message(_windows(stored), at, config.windows)
    commands = _write_windows(recipient, updated)
    if outside_window:  # one more unique customer reached outside a window (or the same one, later)
        commands += [("zadd", (redis_keys.LIMIT_REACHED, {recipient: at.timestamp()})),
                     ("zremrangebyscore", (redis_keys.LIMIT_REACHED, "-inf", (at - LIMIT_PERIOD).timestamp()))]
    yield commands
    return updated


def expiration_program(recipient: str, expires_at: datetime) -> Program:
    (stored,) = yield [("hgetall", (redis_keys.windows(recipient),))]
    updated = with_conversation_expiration(_windows(stored), expires_at)
    yield _write_windows(recipient, updated)
    return updated


def consent_program(
    recipient: str, status: str, scopes: Sequence[str], source: str, wording: str, at: datetime
) -> Program:
    """Record an opt-in or opt-out; returns the scopes it changed (none when it repeats the current state)."""
    (stored,) = yield [("hgetall", (redis_keys.consent(recipient),))]
    consent: Consent = records_from_hash(_texts(stored))
    changed = changes(consent, status, scopes)
    record = ConsentRecord(status, at, source, wording)
    applied = [s for s in changed if consent.with_record(s, record) is not consent]
    if applied:
        value = json.dumps({"status": status, "at": at.isoformat(), "source": source, "wording": wording})
        yield [("hset", (redis_keys.consent(recipient), None, None, {s: value for s in applied})),
               ("xadd", (redis_keys.CONSENT_LOG, {"recipient": recipient, "status": status, "scopes": ",".join(applied),
                                                  "source": source, "wording": wording, "at": at.isoformat()}))]
    return tuple(applied)


def defer_program(recipient: str, item: Dict[str, Any], for_capacity: bool) -> Program:
    commands: List[Command] = [("rpush", (redis_keys.deferred(recipient), json.dumps(item)))]
    if for_capacity:
        commands.append(("sadd", (redis_keys.DEFERRED_FOR_CAPACITY, recipient)))
    yield commands


def deferred_program(recipient: str) -> Program:
    (items,) = yield [("lrange", (redis_keys.deferred(recipient), 0, -1))]
    return [json.loads(as_text(i)) for i in items]


def has_deferred_program(recipient: str) -> Program:
    (count,) = yield [("exists", (redis_keys.deferred(recipient),))]
    return bool(count)


def drop_first_deferred_program(recipient: str) -> Program:
    _, left = yield [("lpop", (redis_keys.deferred(recipient),)), ("llen", (redis_keys.deferred(recipient),))]
    if not left:
        yield [("srem", (redis_keys.DEFERRED_FOR_CAPACITY, recipient))]


def lock_deferred_program(recipient: str, holder: str, seconds: int) -> Program:
    (taken,) = yield [("set_nx", (redis_keys.deferred_lock(recipient), holder, seconds))]
    return bool(taken)


def unlock_deferred_program(recipient: str) -> Program:
    yield [("delete", (redis_keys.deferred_lock(recipient),))]


def waiting_for_capacity_program() -> Program:
    (members,) = yield [("smembers", (redis_keys.DEFERRED_FOR_CAPACITY,))]
    return sorted(as_text(m) for m in members)


def save_plan_program(wamid: str, plan: Dict[str, Any]) -> Program:
    yield [("set", (redis_keys.send_plan(wamid), json.dumps(plan), PLAN_SECONDS))]


def take_plan_program(wamid: str) -> Program:
    stored, _ = yield [("get", (redis_keys.send_plan(wamid),)), ("delete", (redis_keys.send_plan(wamid),))]
    return json.loads(as_text(stored)) if stored else None


def template_override_program(field: str, key: str, value: str) -> Program:
    target = redis_keys.TEMPLATE_STATUS if field == "status" else redis_keys.TEMPLATE_CATEGORY
    yield [("hset", (target, key, value))]


def set_clock_offset_program(seconds: float) -> Program:
    yield [("set", (redis_keys.TEST_CLOCK_OFFSET, repr(float(seconds))))]


# --- runners ---

class PolicyStore:
    """The policy's Redis state for async code (redis.asyncio)."""

    def __init__(self, store: aioredis.Redis, config: PolicyConfig) -> None:
        self.redis = store
        self.config = config

    async def run(self, program: Program) -> Any:
        try:
            commands = next(program)
            while True:
                commands = program.send(await self._execute(commands))
        except StopIteration as done:
            return done.value

    async def _execute(self, commands: Iterable[Command]) -> List[Any]:
        pipe = self.redis.pipeline(transaction=True)
        for name, args in commands:
            _call(pipe, name, args)
        return await pipe.execute()

    async def now(self) -> datetime:
        return await self.run(clock_program(self.config))

    async def snapshot(self, recipient: str) -> Snapshot:
        return await self.run(snapshot_program(recipient, self.config))

    async def record_inbound(self, recipient: str, sent_at: datetime, from_referral: bool) -> Windows:
        return await self.run(inbound_program(recipient, sent_at, from_referral, self.config))

    async def record_business_message(self, recipient: str, at: datetime, outside_window: bool) -> Windows:
        return await self.run(business_message_program(recipient, at, outside_window, self.config))

    async def record_conversation_expiration(self, recipient: str, expires_at: datetime) -> Windows:
        return await self.run(expiration_program(recipient, expires_at))

    async def record_consent(self, recipient: str, status: str, scopes: Sequence[str], source: str,
                             wording: str = "", at: Optional[datetime] = None) -> Tuple[str, ...]:
        at = at or await self.now()
        return await self.run(consent_program(recipient, status, scopes, source, wording, at))

    async def consent(self, recipient: str) -> Consent:
        return (await self.snapshot(recipient)).state.consent

    async def defer(self, recipient: str, item: Dict[str, Any], for_capacity: bool) -> None:
        await self.run(defer_program(recipient, item, for_capacity))

    async def deferred(self, recipient: str) -> List[Dict[str, Any]]:
        return await self.run(deferred_program(recipient))

    async def has_deferred(self, recipient: str) -> bool:
        return await self.run(has_deferred_program(recipient))

    async def drop_first_deferred(self, recipient: str) -> None:
        await self.run(drop_first_deferred_program(recipient))

    async def lock_deferred(self, recipient: str, holder: str, seconds: int = 120) -> bool:
        return await self.run(lock_deferred_program(recipient, holder, seconds))

    async def unlock_deferred(self, recipient: str) -> None:
        await self.run(unlock_deferred_program(recipient))

    async def waiting_for_capacity(self) -> List[str]:
        return await self.run(waiting_for_capacity_program())

    async def save_plan(self, wamid: str, plan: Dict[str, Any]) -> None:
        await self.run(save_plan_program(wamid, plan))

    async def take_plan(self, wamid: str) -> Optional[Dict[str, Any]]:
        return await self.run(take_plan_program(wamid))

    async def override_template(self, field: str, key: str, value: str) -> None:
        await self.run(template_override_program(field, key, value))


class SyncPolicyStore:
    """The same state for blocking code (Flask, command-line tools, the stand-in)."""

    def __init__(self, store: redis.Redis, config: PolicyConfig) -> None:
        self.redis = store
        self.config = config

    def run(self, program: Program) -> Any:
        try:
            commands = next(program)
            while True:
                pipe = self.redis.pipeline(transaction=True)
                for name, args in commands:
                    _call(pipe, name, args)
                commands = program.send(pipe.execute())
        except StopIteration as done:
            return done.value

    def now(self) -> datetime:
        return self.run(clock_program(self.config))

    def snapshot(self, recipient: str) -> Snapshot:
        return self.run(snapshot_program(recipient, self.config))

    def record_inbound(self, recipient: str, sent_at: datetime, from_referral: bool) -> Windows:
        return self.run(inbound_program(recipient, sent_at, from_referral, self.config))

    def record_consent(self, recipient: str, status: str, scopes: Sequence[str], source: str,
                       wording: str = "", at: Optional[datetime] = None) -> Tuple[str, ...]:
        return self.run(consent_program(recipient, status, scopes, source, wording, at or self.now()))

    def set_clock_offset(self, seconds: float) -> None:
        self.run(set_clock_offset_program(seconds))

    def deferred(self, recipient: str) -> List[Dict[str, Any]]:
        return self.run(deferred_program(recipient))


def _call(pipe: Any, name: str, args: Tuple[Any, ...]) -> None:
    if name == "hset":  # hset(name, key, value) or hset(name, mapping=...)
        target, key, value, *mapping = args
        pipe.hset(target, key, value, mapping=mapping[0] if mapping else None)
    elif name == "set" and len(args) == 3:
        pipe.set(args[0], args[1], ex=args[2])
    elif name == "set_nx":
        pipe.set(args[0], args[1], ex=args[2], nx=True)
    else:
        getattr(pipe, name)(*args)


def _windows(stored: Dict[Any, Any]) -> Windows:
    fields = _texts(stored)
    return Windows(**{name: utc(float(fields[name])) if fields.get(name) else None for name in WINDOW_FIELDS})


def _write_windows(recipient: str, w: Windows) -> List[Command]:
    values = {name: repr(getattr(w, name).timestamp()) for name in WINDOW_FIELDS if getattr(w, name)}
    cleared = [name for name in WINDOW_FIELDS if getattr(w, name) is None]
    commands: List[Command] = []
    if values:
        commands.append(("hset", (redis_keys.windows(recipient), None, None, values)))
    if cleared:
        commands.append(("hdel", (redis_keys.windows(recipient), *cleared)))
    return commands


def _texts(stored: Dict[Any, Any]) -> Dict[str, str]:
    return {as_text(k): as_text(v) for k, v in (stored or {}).items()}
