"""The handoff state machine in Redis: chats, queues, and who owns each customer's conversation.

Ownership of a customer moves bot -> queued -> agent -> bot (and agent -> queued on a re-queue or
a transfer to a team). Every move is one Lua script, so two agents claiming the same chat, or a
resolve racing a transfer, can never both win; every move is timestamped in the customer's
history, in the platform's event stream (`wa:events`) and in the inbox feed.
"""

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import redis

from handoff import contract, keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import MAX_LENGTH as EVENT_STREAM_MAX
from whatsapp_cloud.redis_keys import EVENT_STREAM

HISTORY_KEPT = 200  # ownership transitions kept per customer
CHATS_KEPT = 50  # chat ids kept per customer

_LUA_COMMON = f"""
local P = '{keys.PREFIX}'
local function transition(wa, to, chat_id, agent, now, why)
  local okey = P .. 'owner:' .. wa
  local from = redis.call('HGET', okey, 'state') or 'bot'
  redis.call('HSET', okey, 'state', to, 'chat_id', chat_id, 'agent', agent, 'since', now)
  redis.call('RPUSH', P .. 'history:' .. wa, cjson.encode({{
    from = from, to = to, at = tonumber(now), chat_id = chat_id, agent = agent, why = why}}))
  redis.call('XADD', '{EVENT_STREAM}', 'MAXLEN', '~', {EVENT_STREAM_MAX}, '*',
    'kind', '{kinds.HANDOFF_TRANSITION}', 'at', now, 'customer', wa,
    'from', from, 'to', to, 'chat_id', chat_id, 'agent', agent, 'why', why)
end
-- The inbox's live feed; a new message travels with its event, so an open chat shows it without a reload.
local function feed(kind, chat_id, team, agent, now, message)
  if message then
    redis.call('XADD', P .. 'feed', 'MAXLEN', '~', 10000, '*', 'kind', kind, 'chat_id', chat_id,
      'team', team, 'agent', agent, 'at', now, 'message', message)
  else
    redis.call('XADD', P .. 'feed', 'MAXLEN', '~', 10000, '*', 'kind', kind, 'chat_id', chat_id,
      'team', team, 'agent', agent, 'at', now)
  end
end
local function has_room(agent, capacity)
  return redis.call('SCARD', P .. 'agent-chats:' .. agent) < tonumber(capacity)
end
"""

# KEYS: none. ARGV: wa_id, chat_id, now, team, score, fields as JSON (flat strings)
_ESCALATE = _LUA_COMMON + """
local wa, cid, now, team, score = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local okey = P .. 'owner:' .. wa
local state = redis.call('HGET', okey, 'state')
if state == 'queued' or state == 'agent' then
  return {'existing', redis.call('HGET', okey, 'chat_id')}
end
local ck = P .. 'chat:' .. cid
for name, value in pairs(cjson.decode(ARGV[6])) do redis.call('HSET', ck, name, value) end
redis.call('HSET', ck, 'id', cid, 'customer', wa, 'team', team, 'state', 'queued', 'agent', '',
  'created_at', now, 'queued_at', now, 'score', score)
redis.call('ZADD', P .. 'queue:' .. team, score, cid)
redis.call('ZADD', P .. 'open', now, cid)
redis.call('RPUSH', P .. 'customer-chats:' .. wa, cid)
transition(wa, 'queued', cid, '', now, 'escalated')
feed('queued', cid, team, '', now)
return {'created', cid}
"""

# ARGV: chat_id, agent, now, capacity
_CLAIM = _LUA_COMMON + """
local cid, agent, now, capacity = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ck = P .. 'chat:' .. cid
local state = redis.call('HGET', ck, 'state')
if not state then return {'not_found', ''} end
if state ~= 'queued' then return {'taken', redis.call('HGET', ck, 'agent')} end
if not has_room(agent, capacity) then return {'full', ''} end
local team = redis.call('HGET', ck, 'team')
if redis.call('ZREM', P .. 'queue:' .. team, cid) == 0 then return {'taken', ''} end
redis.call('HSET', ck, 'state', 'agent', 'agent', agent, 'assigned_at', now)
redis.call('SADD', P .. 'agent-chats:' .. agent, cid)
transition(redis.call('HGET', ck, 'customer'), 'agent', cid, agent, now, 'claimed')
feed('assigned', cid, team, agent, now)
return {'ok', agent}
"""

# ARGV: chat_id, by ('' = a supervisor acting on anyone's chat), to_agent, to_capacity, now
_TRANSFER_TO_AGENT = _LUA_COMMON + """
local cid, by, to, capacity, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ck = P .. 'chat:' .. cid
local state = redis.call('HGET', ck, 'state')
if not state then return {'not_found', ''} end
local current = redis.call('HGET', ck, 'agent')
if state ~= 'agent' then return {'not_assigned', state} end
if by ~= '' and current ~= by then return {'not_owner', current} end
if current == to then return {'same_agent', to} end
if not has_room(to, capacity) then return {'full', to} end
redis.call('SREM', P .. 'agent-chats:' .. current, cid)
redis.call('SADD', P .. 'agent-chats:' .. to, cid)
redis.call('HSET', ck, 'agent', to, 'assigned_at', now)
redis.call('HINCRBY', ck, 'transfers', 1)
transition(redis.call('HGET', ck, 'customer'), 'agent', cid, to, now, 'transferred from ' .. current)
feed('transferred', cid, redis.call('HGET', ck, 'team'), to, now)
return {'ok', to}
"""

# ARGV: chat_id, by ('' = anyone's), team ('' = same team), now, why
_REQUEUE = _LUA_COMMON + """
local cid, by, team, now, why = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ck = P .. 'chat:' .. cid
local state = redis.call('HGET', ck, 'state')
if not state then return {'not_found', ''} end
local current = redis.call('HGET', ck, 'agent')
local old_team = redis.call('HGET', ck, 'team')
if team == '' then team = old_team end
if state == 'queued' then
  -- Moving a waiting chat is a supervisor's decision ('' = a supervisor acting); checked here, atomically.
  if by ~= '' then return {'not_allowed', ''} end
  if team == old_team then return {'ok', team} end
  redis.call('ZREM', P .. 'queue:' .. old_team, cid)
elseif state == 'agent' then
  if by ~= '' and current ~= by then return {'not_owner', current} end
  redis.call('SREM', P .. 'agent-chats:' .. current, cid)
else
  return {'not_open', state}
end
-- Whoever gave the chat away is not offered it again by the automatic assignment.
redis.call('HSET', ck, 'state', 'queued', 'agent', '', 'team', team, 'queued_at', now, 'passed_by', current)
redis.call('ZADD', P .. 'queue:' .. team, redis.call('HGET', ck, 'score'), cid)
transition(redis.call('HGET', ck, 'customer'), 'queued', cid, '', now, why)
feed('queued', cid, team, current, now)
return {'ok', team}
"""

# ARGV: chat_id, by ('' = anyone's), resolution, now
_RESOLVE = _LUA_COMMON + """
local cid, by, resolution, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ck = P .. 'chat:' .. cid
local state = redis.call('HGET', ck, 'state')
if not state then return {'not_found', ''} end
local current = redis.call('HGET', ck, 'agent')
if state ~= 'agent' and state ~= 'queued' then return {'not_open', state} end
if by ~= '' and current ~= by then return {'not_owner', current} end
local team = redis.call('HGET', ck, 'team')
redis.call('ZREM', P .. 'queue:' .. team, cid)
if current ~= '' then redis.call('SREM', P .. 'agent-chats:' .. current, cid) end
redis.call('ZREM', P .. 'open', cid)
redis.call('ZREM', P .. 'sla', 'first:' .. cid, 'next:' .. cid)
redis.call('ZREM', P .. 'sla-breached', cid)
redis.call('HSET', ck, 'state', 'resolved', 'resolved_at', now, 'resolution', resolution, 'resolved_by', by)
redis.call('ZADD', P .. 'handback', now, cid)
transition(redis.call('HGET', ck, 'customer'), 'bot', cid, '', now, 'resolved')
feed('resolved', cid, team, current, now)
return {'ok', current}
"""

# ARGV: wa_id, wamid, message JSON, now, next response due ('' = no SLA while queued)
_CUSTOMER_MESSAGE = _LUA_COMMON + """
local wa, wamid, message, now, next_due = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local okey = P .. 'owner:' .. wa
local state = redis.call('HGET', okey, 'state')
if state ~= 'queued' and state ~= 'agent' then return {'not_with_handoff', ''} end
local cid = redis.call('HGET', okey, 'chat_id')
if redis.call('SET', P .. 'seen:' .. wamid, cid, 'NX', 'EX', 8 * 24 * 3600) == false then
  return {'duplicate', cid}
end
local ck = P .. 'chat:' .. cid
redis.call('RPUSH', P .. 'messages:' .. cid, message)
redis.call('HSET', ck, 'last_customer_at', now)
if state == 'agent' and next_due ~= '' then
  redis.call('ZADD', P .. 'sla', 'NX', next_due, 'next:' .. cid)
end
feed('customer_message', cid, redis.call('HGET', ck, 'team'), redis.call('HGET', ck, 'agent'), now, message)
return {'ok', cid}
"""

# ARGV: chat_id, message JSON, now, kind (agent|note|system), agent
_CHAT_MESSAGE = _LUA_COMMON + """
local cid, message, now, kind, agent = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ck = P .. 'chat:' .. cid
if redis.call('EXISTS', ck) == 0 then return {'not_found', ''} end
redis.call('RPUSH', P .. 'messages:' .. cid, message)
if kind == 'agent' then
  redis.call('HSET', ck, 'last_agent_at', now)
  redis.call('HSETNX', ck, 'first_response_at', now)
  redis.call('ZREM', P .. 'sla', 'first:' .. cid, 'next:' .. cid)
end
feed(kind == 'agent' and 'agent_message' or kind, cid, redis.call('HGET', ck, 'team'), agent, now, message)
return {'ok', cid}
"""

# ARGV: now. Takes every SLA timer that is due (so each breach is reported once).
_TAKE_DUE_SLA = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""

# ARGV: now, retry at. Takes the due hand backs and schedules their next try (a crash never loses one).
_TAKE_DUE_HANDBACKS = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 20)
for _, cid in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], cid) end
return due
"""


# ARGV: chat_id, now, lease until. Whoever takes a due hand back holds it until the lease ends, so the
# resolving request and a background tick never both hand the same chat back.
_CLAIM_HANDBACK = """
local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not at or tonumber(at) > tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""


class Conflict(Exception):
    """The chat is not in a state that allows this (taken, transferred, resolved, agent full...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(_EXPLANATIONS.get(reason, reason).format(detail=detail or "someone else"))
        self.reason = reason
        self.detail = detail


class NotFound(Exception):
    pass


_EXPLANATIONS = {
    "taken": "the chat was already claimed by {detail}",
    "full": "{detail} has no free capacity",
    "not_owner": "the chat is now with {detail}, not with you",
    "not_allowed": "only a supervisor can move a waiting chat",
    "offline": "{detail} is not online: transfer to the team instead",
    "not_in_team": "{detail} is not in the chat's team",
    "not_assigned": "the chat is not with an agent (it is {detail})",
    "not_open": "the chat is already {detail}",
    "same_agent": "the chat is already with {detail}",
    "not_with_handoff": "the customer is talking to the bot, not waiting for or with an agent",
}


@dataclass(frozen=True)
class Escalation:
    customer: str
    profile_name: Optional[str]
    reason: str
    intent: Optional[str]
    slots: Dict[str, Any]
    summary: str
    language: Optional[str] = None  # ISO 639-1, when the bot knew it: routing prefers agents who speak it


def new_chat_id() -> str:
    return "c" + secrets.token_hex(8)


class ChatStore:
    def __init__(self, store: redis.Redis) -> None:
        self.redis = store
        self._escalate = store.register_script(_ESCALATE)
        self._claim = store.register_script(_CLAIM)
        self._transfer_to_agent = store.register_script(_TRANSFER_TO_AGENT)
        self._requeue = store.register_script(_REQUEUE)
        self._resolve = store.register_script(_RESOLVE)
        self._customer_message = store.register_script(_CUSTOMER_MESSAGE)
        self._chat_message = store.register_script(_CHAT_MESSAGE)
        self._take_due_sla = store.register_script(_TAKE_DUE_SLA)
        self._take_due_handbacks = store.register_script(_TAKE_DUE_HANDBACKS)
        self._claim_handback = store.register_script(_CLAIM_HANDBACK)

    # -- transitions -----------------------------------------------------------------------

    def escalate(self, escalation: Escalation, team: str, window_closes_at: float,
                 now: Optional[float] = None) -> tuple[str, bool]:
        """(chat_id, created): an escalation while queued or with an agent returns the open chat."""
        fields = {
            "profile_name": escalation.profile_name or "", "reason": escalation.reason,
            "intent": escalation.intent or "", "slots": json.dumps(escalation.slots),
            "summary": escalation.summary, "window_closes_at": repr(window_closes_at), "transfers": "0",
            "language": escalation.language or "",
        }
        outcome, chat_id = self._escalate(args=[
            escalation.customer, new_chat_id(), _ts(now), team, repr(window_closes_at), json.dumps(fields)])
        return chat_id, outcome == "created"

    def claim(self, chat_id: str, agent: str, capacity: int, now: Optional[float] = None) -> None:
        self._run(self._claim, chat_id, agent, _ts(now), capacity)

    def transfer_to_agent(self, chat_id: str, by: str, to: str, capacity: int, now: Optional[float] = None) -> None:
        self._run(self._transfer_to_agent, chat_id, by, to, capacity, _ts(now))

    def requeue(self, chat_id: str, by: str = "", team: str = "", why: str = "requeued",
                now: Optional[float] = None) -> str:
        return self._run(self._requeue, chat_id, by, team, _ts(now), why)

    def resolve(self, chat_id: str, by: str, resolution: str, now: Optional[float] = None) -> None:
        self._run(self._resolve, chat_id, by, resolution, _ts(now))

    def customer_message(self, wa_id: str, wamid: str, message: Dict[str, Any], next_due: Optional[float],
                         now: Optional[float] = None) -> tuple[str, str]:
        """(outcome, chat_id), outcome ok|duplicate; Conflict when the bot owns the customer."""
        outcome, chat_id = self._customer_message(args=[
            wa_id, wamid, json.dumps(message), _ts(now), "" if next_due is None else repr(next_due)])
        if outcome == "not_with_handoff":
            raise Conflict(outcome)
        return outcome, chat_id

    def add_message(self, chat_id: str, message: Dict[str, Any], agent: str = "", now: Optional[float] = None) -> None:
        self._run(self._chat_message, chat_id, json.dumps(message), _ts(now), message["kind"], agent)

    def take_due_sla(self, now: Optional[float] = None) -> List[str]:
        return self._take_due_sla(keys=[keys.SLA_DUE], args=[_ts(now)])

    def set_sla(self, which: str, chat_id: str, due: float) -> None:
        self.redis.zadd(keys.SLA_DUE, {f"{which}:{chat_id}": due}, nx=True)

    def take_due_handbacks(self, retry_at: float, now: Optional[float] = None) -> List[str]:
        return self._take_due_handbacks(keys=[keys.HANDBACK_PENDING], args=[_ts(now), repr(retry_at)])

    def drop_from_queue(self, chat_id: str, team: str) -> None:
        self.redis.zrem(keys.queue(team), chat_id)
        self.redis.zrem(keys.ALL_OPEN, chat_id)

    def expire_closed(self, chat: Dict[str, str], seconds: int) -> None:
        """A resolved chat's records live `seconds` more; the customer's lists keep their latest entries."""
        customer = chat["customer"]
        pipe = self.redis.pipeline(transaction=False)
        pipe.expire(keys.chat(chat["id"]), seconds)
        pipe.expire(keys.messages(chat["id"]), seconds)
        pipe.ltrim(keys.history(customer), -HISTORY_KEPT, -1)
        pipe.expire(keys.history(customer), seconds)
        pipe.ltrim(keys.customer_chats(customer), -CHATS_KEPT, -1)
        pipe.expire(keys.customer_chats(customer), seconds)
        pipe.execute()

    def claim_handback(self, chat_id: str, lease_until: float, now: Optional[float] = None) -> bool:
        return bool(self._claim_handback(keys=[keys.HANDBACK_PENDING], args=[chat_id, _ts(now), repr(lease_until)]))

    def handed_back(self, chat_id: str) -> None:
        self.redis.zrem(keys.HANDBACK_PENDING, chat_id)
        self.redis.hset(keys.chat(chat_id), "handed_back_at", _ts(None))

    # -- reads -----------------------------------------------------------------------------

    def chat(self, chat_id: str) -> Dict[str, str]:
        chat = self.redis.hgetall(keys.chat(chat_id))
        if not chat:
            raise NotFound(f"no chat {chat_id}")
        return chat

    def chats(self, chat_ids: List[str]) -> List[Dict[str, str]]:
        pipe = self.redis.pipeline(transaction=False)
        for chat_id in chat_ids:
            pipe.hgetall(keys.chat(chat_id))
        return [chat for chat in pipe.execute() if chat]

    def messages(self, chat_id: str) -> List[Dict[str, Any]]:
        return [json.loads(m) for m in self.redis.lrange(keys.messages(chat_id), 0, -1)]

    def owner(self, wa_id: str) -> Dict[str, str]:
        return self.redis.hgetall(keys.owner(wa_id)) or {"state": contract.BOT}

    def history(self, wa_id: str) -> List[Dict[str, Any]]:
        return [json.loads(t) for t in self.redis.lrange(keys.history(wa_id), 0, -1)]

    def queue(self, team: str) -> List[str]:
        return self.redis.zrange(keys.queue(team), 0, -1)

    def position(self, chat_id: str, team: str) -> Optional[int]:
        rank = self.redis.zrank(keys.queue(team), chat_id)
        return None if rank is None else rank + 1

    def agent_chats(self, agent: str) -> List[str]:
        return sorted(self.redis.smembers(keys.agent_chats(agent)))

    def open_chats(self) -> List[str]:
        return self.redis.zrange(keys.ALL_OPEN, 0, -1)

    def _run(self, script: Any, *args: Any) -> str:
        outcome, detail = script(args=list(args))
        if outcome == "not_found":
            raise NotFound(f"no chat {args[0]}")
        if outcome != "ok":
            raise Conflict(outcome, detail)
        return detail


def _ts(now: Optional[float]) -> str:
    return repr(time.time() if now is None else now)
