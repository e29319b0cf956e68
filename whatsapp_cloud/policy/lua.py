"""The Lua scripts that update the policy's Redis state: each update is one script, so two processes
updating the same customer at once cannot interleave a read and a write (whatsapp_cloud/policy/store.py).

Windows only move forward (the later of two ends wins); a consent record replaces the stored one only
when it is newer by the customer's own time (an opt-out wins a tie); a template status or category
replaces the stored one only when Meta's time for it is not older. Timestamps are Unix seconds.
"""

# Shared by the window scripts (INBOUND, BUSINESS_MESSAGE, CONVERSATION_EXPIRATION): KEYS[1] is the
# windows hash, their only key.
_WINDOW_HELPERS = """
local function later(field, value)
  if value == '' then return end
  local current = tonumber(redis.call('HGET', KEYS[1], field) or '')
  if current == nil or tonumber(value) > current then redis.call('HSET', KEYS[1], field, value) end
end
local function expire_after_last(grace)
  local last = 0
  for _, field in ipairs({'service_until', 'referral_reply_by', 'free_entry_until'}) do
    local value = tonumber(redis.call('HGET', KEYS[1], field) or '')
    if value and value > last then last = value end
  end
  if last > 0 then redis.call('EXPIREAT', KEYS[1], string.format('%d', math.ceil(last + grace))) end
  return redis.call('HGETALL', KEYS[1])
end
"""

# A customer message: ARGV = service_until, referral_reply_by ('' without a referral), grace seconds.
INBOUND = _WINDOW_HELPERS + """
later('service_until', ARGV[1])
later('referral_reply_by', ARGV[2])
return expire_after_last(tonumber(ARGV[3]))
"""

# A business message at ARGV[1]: a reply before the referral deadline spends it and opens the free
# entry window until ARGV[1] + ARGV[2]. ARGV[3]: grace seconds.
BUSINESS_MESSAGE = _WINDOW_HELPERS + """
local at = tonumber(ARGV[1])
local reply_by = tonumber(redis.call('HGET', KEYS[1], 'referral_reply_by') or '')
if reply_by and at < reply_by then
  redis.call('HDEL', KEYS[1], 'referral_reply_by')
  later('free_entry_until', string.format('%.6f', at + tonumber(ARGV[2])))
end
return expire_after_last(tonumber(ARGV[3]))
"""

# Meta's expiration of a free entry conversation (ARGV[1]) replaces our own computation; among Meta's
# own values, an older conversation's never replaces a newer one's. ARGV[2]: grace seconds.
CONVERSATION_EXPIRATION = _WINDOW_HELPERS + """
local from_meta = tonumber(redis.call('HGET', KEYS[1], 'free_entry_by_meta') or '')
if from_meta == nil or tonumber(ARGV[1]) >= from_meta then
  redis.call('HSET', KEYS[1], 'free_entry_until', ARGV[1], 'free_entry_by_meta', ARGV[1])
end
return expire_after_last(tonumber(ARGV[2]))
"""

# KEYS: consent hash, consent log. ARGV: status, ts, at (ISO), record (JSON), log max length, recipient,
# source, wording, business number, who recorded it ("" for the customer's own act), then the scopes.
# Returns the scopes whose status changed.
# A record keeps how consent was given (source, wording, time); `seen_ts` is the latest time the customer
# said the same again, so an older opposite record arriving late never wins over a newer repeat.
# Times compare by the whole second (WhatsApp's timestamps have no fraction); an opt-out wins a tie.
CONSENT = """
local status, ts, at = ARGV[1], math.floor(tonumber(ARGV[2])), ARGV[3]
local changed = {}
for i = 11, #ARGV do
  local scope = ARGV[i]
  local raw = redis.call('HGET', KEYS[1], scope)
  if not raw then
    redis.call('HSET', KEYS[1], scope, ARGV[4])
    table.insert(changed, scope)
  else
    local current = cjson.decode(raw)
    local current_ts = tonumber(current.seen_ts or current.ts or '')
    local newer
    if current_ts then
      current_ts = math.floor(current_ts)
      newer = ts > current_ts or (ts == current_ts and status == 'out' and current.status == 'in')
    else  -- a record of an earlier release: ISO times of UTC instants sort as text
      newer = at > current.at or (at == current.at and status == 'out' and current.status == 'in')
    end
    if newer and current.status ~= status then
      redis.call('HSET', KEYS[1], scope, ARGV[4])
      table.insert(changed, scope)
    elseif newer then
      current.seen_ts = ARGV[2]
      redis.call('HSET', KEYS[1], scope, cjson.encode(current))
    end
  end
end
if #changed > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'recipient', ARGV[6], 'status', status,
             'scopes', table.concat(changed, ','), 'source', ARGV[7], 'wording', ARGV[8], 'at', at,
             'business', ARGV[9], 'by', ARGV[10])
end
return changed
"""

# KEYS: consent hash, consent log stream. ARGV: ISO time, wording, log max length, recipient, business, scopes...
# Notes the customer's confirmation on each scope's opt-in not confirmed yet (an opt-out or a missing record is
# left alone: a confirmation never creates consent), and logs it once; returns the scopes noted.
CONSENT_CONFIRM = """
local noted = {}
for i = 6, #ARGV do
  local scope = ARGV[i]
  local raw = redis.call('HGET', KEYS[1], scope)
  if raw then
    local current = cjson.decode(raw)
    if current.status == 'in' and not current.confirmed_at then
      current.confirmed_at = ARGV[1]
      current.confirmation = ARGV[2]
      redis.call('HSET', KEYS[1], scope, cjson.encode(current))
      table.insert(noted, scope)
    end
  end
end
if #noted > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'recipient', ARGV[4], 'status', 'confirmed',
             'scopes', table.concat(noted, ','), 'source', 'button', 'wording', ARGV[2], 'at', ARGV[1],
             'business', ARGV[5])
end
return noted
"""

# KEYS: value hash, time hash. ARGV: field, value, Meta's time. Applies unless a later event is stored.
TEMPLATE_OVERRIDE = """
local stored = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '')
if stored and tonumber(ARGV[3]) < stored then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 1
"""

# The deferred-queue lock, held under a random token: only its holder extends or releases it.
# KEYS[1] the lock. ARGV: token, seconds (EXTEND_LOCK); token (RELEASE_LOCK).
EXTEND_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: deferred list, capacity set, since (sorted set). ARGV: the item exactly as stored, recipient.
# Removes that item wherever it now is; the customer's oldest time becomes that of the new first item.
REMOVE_DEFERRED = """
local removed = redis.call('LREM', KEYS[1], 1, ARGV[1])
local first = redis.call('LINDEX', KEYS[1], 0)
if not first then
  redis.call('SREM', KEYS[2], ARGV[2])
  redis.call('ZREM', KEYS[3], ARGV[2])
else
  local ts = tonumber(cjson.decode(first).ts)
  if ts then redis.call('ZADD', KEYS[3], ts, ARGV[2]) end
end
return removed
"""

# KEYS[1]: the open windows of a business number (redis_keys.open_windows). ARGV[1]: the customer, ARGV[2]: when
# their service window now ends, ARGV[3]: the time of the message (windows that ended before it are dropped).
# Like the windows hash, a customer's end only moves forward (a message delivered late never shortens it); the
# key expires when the last window in it ends.
OPEN_WINDOW = """
local current = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '')
if current == nil or tonumber(ARGV[2]) > current then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('EXPIREAT', KEYS[1], math.ceil(tonumber(last[2]))) end
return 0
"""
