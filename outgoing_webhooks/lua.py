"""The outgoing webhooks' Lua scripts: each moves one delivery between its states atomically."""

# KEYS: retries (sorted set), deliveries (stream). ARGV: now, how many at most.
# Moves the deliveries whose time has come back into the delivery stream; returns how many moved.
PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local fields = {}
  for name, value in pairs(cjson.decode(member)) do
    table.insert(fields, name)
    table.insert(fields, tostring(value))
  end
  redis.call('ZREM', KEYS[1], member)
  redis.call('XADD', KEYS[2], '*', unpack(fields))
end
return #due
"""

# KEYS: dead letters (stream), deliveries (stream). ARGV: the dead letter's id, now.
# Sends a dead letter again as a new first attempt with the same body (so the same idempotency key);
# returns 1, or 0 when there is no such dead letter (already re-sent).
RESEND = """
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local old, fields = found[1][2], {}
for i = 1, #old, 2 do
  local name = old[i]
  if name ~= 'reason' and name ~= 'failed_at' and name ~= 'attempt' and name ~= 'first_at' then
    table.insert(fields, name)
    table.insert(fields, old[i + 1])
  end
end
table.insert(fields, 'attempt')
table.insert(fields, '1')
table.insert(fields, 'first_at')
table.insert(fields, ARGV[2])
redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
"""
