"""Campaigns in Redis: each operation written once as a program of Redis commands, run by a blocking
runner (the handoff API, the command line) or an async one (the worker), as whatsapp_cloud/policy/store.py does.

Why Redis and not the SQL database: the consent ledger, windows, messaging-limit usage, idempotency keys and
delivery records the sends depend on are all in Redis, so a recipient's status changes in the same store
(one Lua script each, atomic with its counts) and no process needs a second database connection.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import redis
import redis.asyncio as aioredis

from campaigns import keys, lua
from campaigns.model import MOVES, Outcome
from whatsapp_cloud import redis_keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import entry
from whatsapp_cloud.redis_programs import Command, Program, run_async, run_sync
from whatsapp_cloud.redis_values import as_text

CHUNK = 500  # recipients per round trip


def create_program(campaign: Mapping[str, str], recipients: Sequence[Tuple[str, Mapping[str, str], Outcome]],
                   events_max: int) -> Program:
    cid = campaign["id"]
    counts: Dict[str, int] = {}
    for start in range(0, len(recipients), CHUNK):
        chunk = recipients[start:start + CHUNK]
        yield [("rpush", (keys.order(cid), *[wa_id for wa_id, _, _ in chunk])),
               ("hset_many", (keys.values(cid), {wa_id: json.dumps(v) for wa_id, v, _ in chunk})),
               ("hset_many", (keys.recipients(cid), {wa_id: json.dumps(o.as_dict()) for wa_id, _, o in chunk}))]
        for _, _, outcome in chunk:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
    created = entry(kinds.CAMPAIGN_STATE, campaign=cid, to=campaign["state"], reason="created")
    commands: List[Command] = [("hset_many", (keys.campaign(cid), dict(campaign))),
                               ("zadd", (keys.INDEX, {cid: float(campaign["created_at"])})),
                               ("xadd_trimmed", (redis_keys.EVENT_STREAM, created, events_max))]
    if counts:
        commands.append(("hset_many", (keys.counts(cid), {k: str(v) for k, v in counts.items()})))
    if campaign["state"] in ("scheduled", "sending"):
        commands.append(("zadd", (keys.DUE, {cid: float(campaign.get("start_at") or campaign["created_at"])})))
    yield commands


def campaign_program(cid: str) -> Program:
    fields, counts, codes = yield [("hgetall", (keys.campaign(cid),)), ("hgetall", (keys.counts(cid),)),
                                   ("hgetall", (keys.codes(cid),))]
    if not fields:
        return None
    data: Dict[str, Any] = _texts(fields)
    data["counts"] = {k: int(v) for k, v in _texts(counts).items() if int(v)}
    data["failures_by_code"] = {k: int(v) for k, v in _texts(codes).items() if int(v)}
    data["total"] = int(data.get("total") or 0)
    return data


def list_program(count: int) -> Program:
    (ids,) = yield [("zrevrange", (keys.INDEX, 0, count - 1))]
    return [as_text(i) for i in ids]


def set_state_program(cid: str, state: str, reason: str, due_at: Optional[float], events_max: int,
                      allowed: Optional[Sequence[str]] = None) -> Program:
    """Move the campaign to `state` if allowed from where it is; the previous state, or None."""
    now = time.time()
    (previous,) = yield [("eval", (lua.SET_STATE, 2, keys.campaign(cid), keys.DUE, state,
                                   ",".join(allowed or MOVES[state]), reason, repr(now),
                                   repr(due_at if due_at is not None else now), cid))]
    if previous is None:
        return None
    previous = as_text(previous)
    moved = entry(kinds.CAMPAIGN_STATE, campaign=cid, previous=previous, to=state, reason=reason)
    yield [("xadd_trimmed", (redis_keys.EVENT_STREAM, moved, events_max))]
    return previous


def set_field_program(cid: str, field: str, value: str) -> Program:
    yield [("hset_many", (keys.campaign(cid), {field: value}))]


def set_due_program(cid: str, at: float) -> Program:
    """Look at a due campaign again at `at` (e.g. when messaging-limit capacity may have freed)."""
    yield [("zadd_xx", (keys.DUE, {cid: at}))]


def due_program(now: float) -> Program:
    (ids,) = yield [("zrangebyscore", (keys.DUE, "-inf", now))]
    return [as_text(i) for i in ids]


def slice_program(cid: str, start: int, count: int) -> Program:
    """[(wa_id, Outcome)] of the recipients at positions start..start+count-1, in planning order."""
    (ids,) = yield [("lrange", (keys.order(cid), start, start + count - 1))]
    ids = [as_text(i) for i in ids]
    if not ids:
        return []
    (records,) = yield [("hmget", (keys.recipients(cid), ids))]
    return [(wa_id, Outcome.from_dict(json.loads(as_text(r)))) for wa_id, r in zip(ids, records, strict=True) if r]


def values_program(cid: str, wa_ids: Sequence[str]) -> Program:
    (found,) = yield [("hmget", (keys.values(cid), list(wa_ids)))]
    return {wa_id: json.loads(as_text(v)) for wa_id, v in zip(wa_ids, found, strict=True) if v}


def recipient_program(cid: str, wa_id: str) -> Program:
    (record,) = yield [("hget", (keys.recipients(cid), wa_id))]
    return Outcome.from_dict(json.loads(as_text(record))) if record else None


def set_status_program(cid: str, wa_id: str, outcome: Outcome, allowed: Optional[Sequence[str]] = None) -> Program:
    """Write a recipient's record if its status is one of `allowed` (None: any); True when written."""
    (written,) = yield [("eval", (lua.SET_STATUS, 4, keys.recipients(cid), keys.counts(cid), keys.codes(cid),
                                  keys.tracking(cid), wa_id, json.dumps(outcome.as_dict()),
                                  ",".join(allowed) if allowed else "*"))]
    return bool(written)


def state_program(cid: str) -> Program:
    (state,) = yield [("hget", (keys.campaign(cid), "state"))]
    return as_text(state) if state else None


def tracking_program(cid: str) -> Program:
    """Every recipient whose status may still move, page by page."""
    found: List[str] = []
    cursor: Any = 0
    while True:
        ((cursor, members),) = yield [("sscan", (keys.tracking(cid), cursor, None, CHUNK))]
        found += [as_text(m) for m in members]
        if int(cursor) == 0:
            return sorted(set(found))


def records_program(cid: str, wa_ids: Sequence[str]) -> Program:
    (records,) = yield [("hmget", (keys.recipients(cid), list(wa_ids)))]
    return {w: Outcome.from_dict(json.loads(as_text(r))) for w, r in zip(wa_ids, records, strict=True) if r}


def settling_program(cid: str, until: float) -> Program:
    """Keep reading this campaign's delivery statuses and replies until `until`."""
    yield [("zadd", (keys.SETTLING, {cid: until}))]


def settling_ids_program(now: float) -> Program:
    _, ids = yield [("zremrangebyscore", (keys.SETTLING, "-inf", now)), ("zrange", (keys.SETTLING, 0, -1))]
    return [as_text(i) for i in ids]


def delivery_program(wamids: Sequence[str]) -> Program:
    """The delivery records (`wa:out:{wamid}`) the platform keeps from Meta's status webhooks."""
    found = yield [("hgetall", (redis_keys.outbound_message(w),)) for w in wamids]
    return [_texts(f) for f in found]


def service_until_program(wa_ids: Sequence[str], phone_number_id: str) -> Program:
    """When each customer's service window ends: it opened when they last wrote."""
    found = yield [("hget", (redis_keys.windows(w, phone_number_id), "service_until")) for w in wa_ids]
    return [float(as_text(f)) if f else None for f in found]


def expire_program(cid: str, seconds: int) -> Program:
    commands: List[Command] = [("expire", (k, seconds)) for k in keys.all_of(cid)]
    yield commands


def take_lease_program(cid: str, token: str, seconds: int) -> Program:
    (taken,) = yield [("set_nx", (keys.lease(cid), token, seconds))]
    return bool(taken)


def lease_program(cid: str, token: str, seconds: int) -> Program:
    """Renew (seconds > 0) or release (0) the lease if it is still ours."""
    (held,) = yield [("eval", (lua.LEASE, 1, keys.lease(cid), token, seconds))]
    return bool(held)


# --- runners ---

class SyncRunner:
    def __init__(self, store: redis.Redis) -> None:
        self.redis = store

    def __call__(self, program: Program) -> Any:
        return run_sync(self.redis, program)


class AsyncRunner:
    def __init__(self, store: aioredis.Redis) -> None:
        self.redis = store

    async def __call__(self, program: Program) -> Any:
        return await run_async(self.redis, program)


def _texts(stored: Optional[Mapping[Any, Any]]) -> Dict[str, str]:
    return {as_text(k): as_text(v) for k, v in (stored or {}).items()}


def chunks(items: Iterable[str], size: int = CHUNK) -> Iterable[List[str]]:
    batch: List[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
