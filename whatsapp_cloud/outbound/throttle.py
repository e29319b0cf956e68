"""Token buckets in Redis, shared by every process that sends for one business number.

Meta allows about 80 messages/s per business number (130429 above it) and, per customer,
bursts of about 45 then one message every 6 s (131056 above it). Waiting here costs less than
being refused there.
"""

import time

import redis.asyncio as aioredis

# KEYS[1] bucket; ARGV: capacity, refill per second, now (s). Returns ms to wait (0 = token taken).
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return wait
"""


class TokenBucket:
    def __init__(self, store: aioredis.Redis, key: str, capacity: float, per_second: float) -> None:
        self.key = key
        self.capacity = capacity
        self.per_second = per_second
        self._take = store.register_script(_TAKE)

    async def take(self) -> float:
        """Take a token if there is one: 0.0, else the seconds until one is due (nothing taken)."""
        wait_ms = await self._take(keys=[self.key], args=[self.capacity, self.per_second, time.time()])
        return int(wait_ms) / 1000
