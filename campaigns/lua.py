"""The campaigns' atomic state changes, each one Lua script; every key it touches comes in KEYS."""

# Move a campaign's state if it is in one of the allowed states; keep the due index in step.
# KEYS[1] the campaign hash, KEYS[2] the due index. ARGV: new state, allowed states (comma-separated),
# reason, now (Unix seconds), due score ('' = leave the due index), campaign id.
# Returns the previous state, or false when the move is not allowed.
SET_STATE = """
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return false end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == current then allowed = true end
end
if not allowed then return false end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'reason', ARGV[3], 'updated_at', ARGV[4])
if ARGV[1] == 'scheduled' or ARGV[1] == 'sending' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
else
  redis.call('ZREM', KEYS[2], ARGV[6])
end
return current
"""

# Set a recipient's status record if its current status is one of the allowed ones ('*': any), and keep
# the counts per status, the failures per code and the tracking set in the same step.
# KEYS[1] recipients hash, KEYS[2] counts hash, KEYS[3] codes hash, KEYS[4] tracking set.
# ARGV: wa_id, the new record (JSON), allowed statuses (comma-separated, or '*').
# Returns 1 when the record was written.
SET_STATUS = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local before = cjson.decode(old)
local after = cjson.decode(ARGV[2])
if ARGV[3] ~= '*' then
  local allowed = false
  for s in string.gmatch(ARGV[3], '[^,]+') do
    if s == before['status'] then allowed = true end
  end
  if not allowed then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if before['status'] ~= after['status'] then
  redis.call('HINCRBY', KEYS[2], before['status'], -1)
  redis.call('HINCRBY', KEYS[2], after['status'], 1)
end
if before['status'] == 'failed' and before['code'] then redis.call('HINCRBY', KEYS[3], before['code'], -1) end
if after['status'] == 'failed' and after['code'] then redis.call('HINCRBY', KEYS[3], after['code'], 1) end
local s = after['status']
if s == 'sent' or s == 'delivered' or s == 'read' then
  redis.call('SADD', KEYS[4], ARGV[1])
else
  redis.call('SREM', KEYS[4], ARGV[1])
end
return 1
"""

# Take a send slot: at most ARGV[1] campaign sends in flight or finished within the last ARGV[2] seconds.
# KEYS[1] the pace set. ARGV: limit, window seconds, token, longest time a send may stay in flight.
# Returns 0 when the slot is taken, else the milliseconds to wait before asking again.
TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4]) + window))
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.ceil((tonumber(oldest[2]) + window - now) * 1000))
"""

# The send of a slot finished: it counts for one more window from now.
# KEYS[1] the pace set. ARGV: token.
FREE_SLOT = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], 'XX', tonumber(t[1]) + tonumber(t[2]) / 1000000, ARGV[1])
return 1
"""

# Renew or release a lease only if it is still ours. KEYS[1] the lease. ARGV: token, seconds (0 = release).
LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) == 0 then redis.call('DEL', KEYS[1]) else redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""
