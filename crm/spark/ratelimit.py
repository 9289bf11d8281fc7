"""A rate limiter shared through Redis by every web and worker process that uses one Spark key.

Spark allows N requests in any window of W seconds per key. A sliding log in a sorted set, updated by one
Lua script, grants a slot or says how long to wait; callers sleep instead of drawing 429s.
"""

from __future__ import annotations

import time
import uuid

_ACQUIRE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local member = ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RateLimitTimeout(Exception):
    pass


class RedisRateLimiter:
    def __init__(self, redis_client, *, name: str, requests: int, window_s: float, max_wait_s: float = 600.0,
                 sleep=time.sleep) -> None:
        self.redis = redis_client
        self.key = f"spark:ratelimit:{name}"
        self.requests = requests
        self.window_s = window_s
        self.max_wait_s = max_wait_s
        self._script = redis_client.register_script(_ACQUIRE)
        self._sleep = sleep

    def try_acquire(self) -> float:
        """Take a slot and return 0, or return the seconds to wait before one frees up."""
        now = self.redis.time()
        now_s = now[0] + now[1] / 1_000_000  # Redis's clock, the same for every process
        wait = float(self._script(keys=[self.key], args=[now_s, self.window_s, self.requests, uuid.uuid4().hex]))
        return max(0.0, wait)

    def acquire(self) -> float:
        """Block until a slot is free; return the seconds waited."""
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return waited
            if waited + wait > self.max_wait_s:
                raise RateLimitTimeout(f"Spark rate limit: no slot within {self.max_wait_s:.0f}s")
            # A little more than needed, so concurrent waiters don't all wake at the same instant.
            step = min(wait + 0.01, 5.0)
            self._sleep(step)
            waited += step

    def reset(self) -> None:
        self.redis.delete(self.key)
