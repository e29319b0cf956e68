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
from typing import Any, Callable, Dict, List, Optional

import redis

from handoff import contract, keys
from whatsapp_cloud.events import kinds
from whatsapp_cloud.events.log import MAX_LENGTH as EVENT_STREAM_MAX
from whatsapp_cloud.redis_keys import EVENT_STREAM

HISTORY_KEPT = 200  # ownership transitions kept per customer
CHATS_KEPT = 50  # chat ids kept per customer
SEEN_PRUNE_ABOVE = 500  # chats in an agent's read record before the expired ones are dropped from it
MOVED_TRIES = 20  # a script refused as 'moved' is tried again with what was read anew, this many times

# Every script receives every key it touches in KEYS (as on Redis Cluster, where a script may touch only
# the keys it declares). The scripts that move a chat between owners share one layout:
#   KEYS[1] the chat hash, KEYS[2] the inbox feed, KEYS[3] the customer's owner hash, KEYS[4] the
#   customer's history list, KEYS[5] the event stream (wa:events); then each script's own keys.
#   ARGV[1] the event kind, ARGV[2] the event stream's maximum length; for an existing chat ARGV[3..5]
#   its customer, team and agent as read before the call, ARGV[6] the chat id; then each script's own.
# A chat's team and agent change, and its queue and agent-chats keys with them: the caller reads them,
# builds the keys, and the script answers 'moved' (touching nothing) when they changed meanwhile, so the
# caller reads again and retries. The customer of a chat never changes.
_LUA_STATES = f"""
local BOT, QUEUED, AGENT = '{contract.BOT}', '{contract.QUEUED}', '{contract.AGENT}'
"""
_LUA_TRANSITION = """
local function transition(wa, to, chat_id, agent, now, why)
  local from = redis.call('HGET', KEYS[3], 'state') or BOT
  redis.call('HSET', KEYS[3], 'state', to, 'chat_id', chat_id, 'agent', agent, 'since', now)
  redis.call('RPUSH', KEYS[4], cjson.encode({
    from = from, to = to, at = tonumber(now), chat_id = chat_id, agent = agent, why = why}))
  -- The chat's team on every move, and why the bot escalated on the first one (for analytics).
  local chat = redis.call('HMGET', KEYS[1], 'team', 'reason', 'intent')
  if why == 'escalated' then
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[2], '*', 'kind', ARGV[1], 'at', now, 'customer', wa,
      'from', from, 'to', to, 'chat_id', chat_id, 'agent', agent, 'why', why, 'team', chat[1] or '',
      'reason', chat[2] or '', 'intent', chat[3] or '')
  else
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[2], '*', 'kind', ARGV[1], 'at', now, 'customer', wa,
      'from', from, 'to', to, 'chat_id', chat_id, 'agent', agent, 'why', why, 'team', chat[1] or '')
  end
end
-- Whether the chat's customer, team or agent differ from those its KEYS were built from (ARGV[3..5]).
local function moved()
  local now_set = redis.call('HMGET', KEYS[1], 'customer', 'team', 'agent')
  return now_set[1] ~= ARGV[3] or now_set[2] ~= ARGV[4] or (now_set[3] or '') ~= ARGV[5]
end
"""
# The inbox's live feed (KEYS[2] in every script that writes it); a new message travels with its event,
# so an open chat shows it without a reload.
_LUA_FEED = """
local function feed(kind, chat_id, team, agent, now, message)
  if message then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'kind', kind, 'chat_id', chat_id,
      'team', team, 'agent', agent, 'at', now, 'message', message)
  else
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', 'kind', kind, 'chat_id', chat_id,
      'team', team, 'agent', agent, 'at', now)
  end
end
"""
_LUA_MOVE = _LUA_STATES + _LUA_TRANSITION + _LUA_FEED

# KEYS[1..5] as above (the new chat), KEYS[6] the team's queue, KEYS[7] all open chats, KEYS[8] the
# customer's chats. ARGV[1..2] as above, ARGV[3..8]: wa_id, chat_id, now, team, score, fields as JSON
# (flat strings). Nothing is read to build the keys: the new chat's are all known.
_ESCALATE = _LUA_MOVE + """
local wa, cid, now, team, score = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local state = redis.call('HGET', KEYS[3], 'state')
if state == QUEUED or state == AGENT then
  return {'existing', redis.call('HGET', KEYS[3], 'chat_id')}
end
for name, value in pairs(cjson.decode(ARGV[8])) do redis.call('HSET', KEYS[1], name, value) end
redis.call('HSET', KEYS[1], 'id', cid, 'customer', wa, 'team', team, 'state', QUEUED, 'agent', '',
  'created_at', now, 'queued_at', now, 'score', score)
redis.call('ZADD', KEYS[6], score, cid)
redis.call('ZADD', KEYS[7], now, cid)
redis.call('RPUSH', KEYS[8], cid)
transition(wa, QUEUED, cid, '', now, 'escalated')
feed('queued', cid, team, '', now)
return {'created', cid}
"""

# KEYS[1..5] as above, KEYS[6] the chat team's queue, KEYS[7] the claiming agent's chats.
# ARGV[1..6] as above, ARGV[7..9]: agent, now, capacity.
_CLAIM = _LUA_MOVE + """
local cid, agent, now, capacity = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'not_found', ''} end
if moved() then return {'moved', ''} end
if state ~= QUEUED then return {'taken', redis.call('HGET', KEYS[1], 'agent')} end
if redis.call('SCARD', KEYS[7]) >= tonumber(capacity) then return {'full', ''} end
if redis.call('ZREM', KEYS[6], cid) == 0 then return {'taken', ''} end
redis.call('HSET', KEYS[1], 'state', AGENT, 'agent', agent, 'assigned_at', now)
redis.call('SADD', KEYS[7], cid)
transition(ARGV[3], AGENT, cid, agent, now, 'claimed')
feed('assigned', cid, ARGV[4], agent, now)
return {'ok', agent}
"""

# KEYS[1..5] as above, KEYS[6] the current agent's chats, KEYS[7] the new agent's chats.
# ARGV[1..6] as above, ARGV[7..10]: by ('' = a supervisor acting on anyone's chat), to_agent, to_capacity, now.
_TRANSFER_TO_AGENT = _LUA_MOVE + """
local cid, by, to, capacity, now = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'not_found', ''} end
if moved() then return {'moved', ''} end
local current = ARGV[5]
if state ~= AGENT then return {'not_assigned', state} end
if by ~= '' and current ~= by then return {'not_owner', current} end
if current == to then return {'same_agent', to} end
if redis.call('SCARD', KEYS[7]) >= tonumber(capacity) then return {'full', to} end
redis.call('SREM', KEYS[6], cid)
redis.call('SADD', KEYS[7], cid)
redis.call('HSET', KEYS[1], 'agent', to, 'assigned_at', now)
redis.call('HINCRBY', KEYS[1], 'transfers', 1)
transition(ARGV[3], AGENT, cid, to, now, 'transferred from ' .. current)
feed('transferred', cid, ARGV[4], to, now)
return {'ok', to}
"""

# KEYS[1..5] as above, KEYS[6] the chat team's queue, KEYS[7] the queue it goes to (the same without a
# team), KEYS[8] the current agent's chats. ARGV[1..6] as above, ARGV[7..10]: by ('' = anyone's),
# team ('' = same team), now, why.
_REQUEUE = _LUA_MOVE + """
local cid, by, team, now, why = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'not_found', ''} end
if moved() then return {'moved', ''} end
local current, old_team = ARGV[5], ARGV[4]
if team == '' then team = old_team end
if state == QUEUED then
  -- Moving a waiting chat is a supervisor's decision ('' = a supervisor acting); checked here, atomically.
  if by ~= '' then return {'not_allowed', ''} end
  if team == old_team then return {'ok', team} end
  redis.call('ZREM', KEYS[6], cid)
elseif state == AGENT then
  if by ~= '' and current ~= by then return {'not_owner', current} end
  redis.call('SREM', KEYS[8], cid)
else
  return {'not_open', state}
end
-- Whoever gave the chat away is not offered it again by the automatic assignment.
redis.call('HSET', KEYS[1], 'state', QUEUED, 'agent', '', 'team', team, 'queued_at', now, 'passed_by', current)
redis.call('ZADD', KEYS[7], redis.call('HGET', KEYS[1], 'score'), cid)
transition(ARGV[3], QUEUED, cid, '', now, why)
feed('queued', cid, team, current, now)
return {'ok', team}
"""

# KEYS[1..5] as above, KEYS[6] the chat team's queue, KEYS[7] the current agent's chats, KEYS[8] all
# open chats, KEYS[9] the SLA timers, KEYS[10] the breached SLAs, KEYS[11] the pending hand backs.
# ARGV[1..6] as above, ARGV[7..9]: by ('' = anyone's), resolution, now.
_RESOLVE = _LUA_MOVE + """
local cid, by, resolution, now = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'not_found', ''} end
if moved() then return {'moved', ''} end
local current = ARGV[5]
if state ~= AGENT and state ~= QUEUED then return {'not_open', state} end
if by ~= '' and current ~= by then return {'not_owner', current} end
redis.call('ZREM', KEYS[6], cid)
if current ~= '' then redis.call('SREM', KEYS[7], cid) end
redis.call('ZREM', KEYS[8], cid)
redis.call('ZREM', KEYS[9], 'first:' .. cid, 'next:' .. cid)
redis.call('ZREM', KEYS[10], cid)
redis.call('HSET', KEYS[1], 'state', 'resolved', 'resolved_at', now, 'resolution', resolution, 'resolved_by', by)
redis.call('ZADD', KEYS[11], now, cid)
transition(ARGV[3], BOT, cid, '', now, 'resolved')
feed('resolved', cid, ARGV[4], current, now)
return {'ok', current}
"""

# KEYS[1] the chat hash, KEYS[2] the inbox feed, KEYS[3] the customer's owner hash, KEYS[4] the wamid's
# seen marker, KEYS[5] the chat's messages, KEYS[6] the SLA timers. ARGV: wa_id, wamid, message JSON, now,
# next response due ('' = no SLA while queued), the chat id read from the owner hash before the call
# ('moved' when the customer is in another chat now).
_CUSTOMER_MESSAGE = _LUA_STATES + _LUA_FEED + """
local wa, wamid, message, now, next_due, cid = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local state = redis.call('HGET', KEYS[3], 'state')
if state ~= QUEUED and state ~= AGENT then return {'not_with_handoff', ''} end
if redis.call('HGET', KEYS[3], 'chat_id') ~= cid then return {'moved', ''} end
if redis.call('SET', KEYS[4], cid, 'NX', 'EX', 8 * 24 * 3600) == false then
  return {'duplicate', cid}
end
redis.call('RPUSH', KEYS[5], message)
redis.call('HSET', KEYS[1], 'last_customer_at', now)
if state == AGENT and next_due ~= '' then
  redis.call('ZADD', KEYS[6], 'NX', next_due, 'next:' .. cid)
end
feed('customer_message', cid, redis.call('HGET', KEYS[1], 'team'), redis.call('HGET', KEYS[1], 'agent'), now, message)
return {'ok', cid}
"""

# KEYS[1] the chat hash, KEYS[2] the inbox feed, KEYS[3] the chat's messages, KEYS[4] the SLA timers,
# KEYS[5] the event stream (wa:events). ARGV: chat_id, message JSON, now, kind (agent|note|system), agent,
# the event kind of an agent's reply, the event stream's maximum length.
_CHAT_MESSAGE = _LUA_FEED + """
local cid, message, now, kind, agent = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'not_found', ''} end
redis.call('RPUSH', KEYS[3], message)
if kind == 'agent' then
  redis.call('HSET', KEYS[1], 'last_agent_at', now)
  local first = redis.call('HSETNX', KEYS[1], 'first_response_at', now)
  redis.call('ZREM', KEYS[4], 'first:' .. cid, 'next:' .. cid)
  local chat = redis.call('HMGET', KEYS[1], 'customer', 'team')
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 'kind', ARGV[6], 'at', now, 'chat_id', cid,
    'customer', chat[1] or '', 'agent', agent, 'team', chat[2] or '', 'first', first == 1 and '1' or '')
end
feed(kind == 'agent' and 'agent_message' or kind, cid, redis.call('HGET', KEYS[1], 'team'), agent, now, message)
return {'ok', cid}
"""

# KEYS[1] the SLA timers. ARGV: now. Takes every SLA timer that is due (so each breach is reported once).
_TAKE_DUE_SLA = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""

# KEYS[1] the pending hand backs. ARGV: now, retry at. Takes the due hand backs and schedules their next
# try (a crash never loses one).
_TAKE_DUE_HANDBACKS = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 20)
for _, cid in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], cid) end
return due
"""


# KEYS[1] the pending hand backs. ARGV: chat_id, now, lease until. Whoever takes a due hand back holds it
# until the lease ends, so the resolving request and a background tick never both hand the same chat back.
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
    "busy": "the chat kept changing while this was tried: try again",
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
    def __init__(self, store: redis.Redis, event_stream_max: int = EVENT_STREAM_MAX) -> None:
        self.redis = store
        self.event_stream_max = event_stream_max  # wa:events is trimmed to the deployment's bound
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
        customer, chat_id = escalation.customer, new_chat_id()
        outcome, chat_id = self._escalate(
            keys=[*_move_keys(chat_id, customer), keys.queue(team), keys.ALL_OPEN, keys.customer_chats(customer)],
            args=[kinds.HANDOFF_TRANSITION, self.event_stream_max, customer, chat_id, _ts(now), team,
                  repr(window_closes_at), json.dumps(fields)])
        return chat_id, outcome == "created"

    def claim(self, chat_id: str, agent: str, capacity: int, now: Optional[float] = None) -> None:
        self._move(self._claim, chat_id, lambda team, current: [keys.queue(team), keys.agent_chats(agent)],
                   agent, _ts(now), capacity)

    def transfer_to_agent(self, chat_id: str, by: str, to: str, capacity: int, now: Optional[float] = None) -> None:
        self._move(self._transfer_to_agent, chat_id,
                   lambda team, current: [keys.agent_chats(current), keys.agent_chats(to)],
                   by, to, capacity, _ts(now))

    def requeue(self, chat_id: str, by: str = "", team: str = "", why: str = "requeued",
                now: Optional[float] = None) -> str:
        return self._move(self._requeue, chat_id,
                          lambda old_team, current: [keys.queue(old_team), keys.queue(team or old_team),
                                                     keys.agent_chats(current)],
                          by, team, _ts(now), why)

    def resolve(self, chat_id: str, by: str, resolution: str, now: Optional[float] = None) -> None:
        self._move(self._resolve, chat_id,
                   lambda team, current: [keys.queue(team), keys.agent_chats(current), keys.ALL_OPEN,
                                          keys.SLA_DUE, keys.SLA_BREACHED, keys.HANDBACK_PENDING],
                   by, resolution, _ts(now))

    def customer_message(self, wa_id: str, wamid: str, message: Dict[str, Any], next_due: Optional[float],
                         now: Optional[float] = None) -> tuple[str, str]:
        """(outcome, chat_id), outcome ok|duplicate; Conflict when the bot owns the customer."""
        for _try in range(MOVED_TRIES):
            # The chat's keys come from the owner hash: read first, and the script checks it still holds.
            state, chat_id = self.redis.hmget(keys.owner(wa_id), "state", "chat_id")
            if state not in contract.WITH_HANDOFF or not chat_id:
                raise Conflict("not_with_handoff")
            outcome, chat_id = self._customer_message(
                keys=[keys.chat(chat_id), keys.FEED, keys.owner(wa_id), keys.inbound_seen(wamid),
                      keys.messages(chat_id), keys.SLA_DUE],
                args=[wa_id, wamid, json.dumps(message), _ts(now), "" if next_due is None else repr(next_due),
                      chat_id])
            if outcome == "not_with_handoff":
                raise Conflict(outcome)
            if outcome != "moved":
                return outcome, chat_id
        raise Conflict("busy")

    def add_message(self, chat_id: str, message: Dict[str, Any], agent: str = "", now: Optional[float] = None) -> None:
        outcome, detail = self._chat_message(
            keys=[keys.chat(chat_id), keys.FEED, keys.messages(chat_id), keys.SLA_DUE, EVENT_STREAM],
            args=[chat_id, json.dumps(message), _ts(now), message["kind"], agent, kinds.HANDOFF_AGENT_REPLY,
                  self.event_stream_max])
        _settled(chat_id, outcome, detail)

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

    def mark_seen(self, username: str, chat_id: str, keep_seconds: int, prune_above: int = SEEN_PRUNE_ABOVE) -> None:
        """The agent has looked at every message the chat has now. Beyond `prune_above` chats, those whose records
        have expired are forgotten, so an agent's record stays as large as the chats still kept."""
        count = self.redis.llen(keys.messages(chat_id))
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(keys.seen(username), chat_id, count)
        pipe.expire(keys.seen(username), keep_seconds)
        pipe.hlen(keys.seen(username))
        if pipe.execute()[-1] <= prune_above:
            return
        known = self.redis.hkeys(keys.seen(username))
        pipe = self.redis.pipeline(transaction=False)
        for known_id in known:
            pipe.exists(keys.chat(known_id))
        gone = [known_id for known_id, exists in zip(known, pipe.execute(), strict=True) if not exists]
        if gone:
            self.redis.hdel(keys.seen(username), *gone)

    def unread(self, username: str, chat_ids: List[str]) -> Dict[str, int]:
        """Per chat, the customer's messages that came after the agent last looked at it (all, if never)."""
        if not chat_ids:
            return {}
        seen = self.redis.hmget(keys.seen(username), chat_ids)
        pipe = self.redis.pipeline(transaction=False)
        for chat_id, count in zip(chat_ids, seen, strict=True):
            pipe.lrange(keys.messages(chat_id), int(count or 0), -1)
        return {chat_id: sum(1 for m in newer if json.loads(m).get("kind") == "customer")
                for chat_id, newer in zip(chat_ids, pipe.execute(), strict=True)}

    def customer_chat_ids(self, wa_id: str) -> List[str]:
        """The customer's chats, oldest first (the latest CHATS_KEPT, while their records last)."""
        return self.redis.lrange(keys.customer_chats(wa_id), 0, -1)

    def queue(self, team: str) -> List[str]:
        return self.redis.zrange(keys.queue(team), 0, -1)

    def position(self, chat_id: str, team: str) -> Optional[int]:
        rank = self.redis.zrank(keys.queue(team), chat_id)
        return None if rank is None else rank + 1

    def agent_chats(self, agent: str) -> List[str]:
        return sorted(self.redis.smembers(keys.agent_chats(agent)))

    def open_chats(self) -> List[str]:
        return self.redis.zrange(keys.ALL_OPEN, 0, -1)

    def _move(self, script: Any, chat_id: str, own_keys: Callable[[str, str], List[str]], *args: Any) -> str:
        """Run a script that moves an existing chat. Its keys depend on the chat's team and agent
        (`own_keys(team, agent)`): they are read first, and the script answers 'moved' without touching
        anything when they changed before it ran; then they are read again and it is tried again."""
        for _try in range(MOVED_TRIES):
            customer, team, agent = self.redis.hmget(keys.chat(chat_id), "customer", "team", "agent")
            if customer is None:
                raise NotFound(f"no chat {chat_id}")
            team, agent = team or "", agent or ""
            outcome, detail = script(
                keys=[*_move_keys(chat_id, customer), *own_keys(team, agent)],
                args=[kinds.HANDOFF_TRANSITION, self.event_stream_max, customer, team, agent, chat_id, *args])
            if outcome != "moved":
                return _settled(chat_id, outcome, detail)
        raise Conflict("busy")


def _move_keys(chat_id: str, customer: str) -> List[str]:
    """KEYS[1..5] of every script that moves a chat between owners (see the layout above the scripts)."""
    return [keys.chat(chat_id), keys.FEED, keys.owner(customer), keys.history(customer), EVENT_STREAM]


def _settled(chat_id: str, outcome: str, detail: str) -> str:
    if outcome == "not_found":
        raise NotFound(f"no chat {chat_id}")
    if outcome != "ok":
        raise Conflict(outcome, detail)
    return detail


def _ts(now: Optional[float]) -> str:
    return repr(time.time() if now is None else now)
