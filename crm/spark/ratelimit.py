"""A rate limiter shared through Redis by every web and worker process that uses one Spark key.

Spark allows N requests in any window of W seconds per key. A sliding log in a sorted set, updated by one
Lua script, grants a slot or says how long to wait; callers sleep instead of drawing 429s.

Two details keep us under Spark's own count rather than merely near it:
- a slot is stamped when granted and re-stamped when the answer arrives (`settle`): Spark counted the request
  somewhere in between, so our window for it never ends before Spark's does;
- when a 429 arrives anyway (another client on the key, a limit lower than configured), `block` stops every
  process for the Retry-After period, not just the one that was told.

Background work (the activity refresher) goes through a `BackgroundLane`: it takes a slot only while the whole
window's usage is below its share of the limit, and never waits for one, so the agents' own requests always find
the rest of the window free.
"""

from __future__ import annotations

import time
import uuid

_ACQUIRE = """
local key = KEYS[1]
local block_key = KEYS[2]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local member = ARGV[4]
-- A background lane passes a lower ceiling: it is granted a slot only while the window holds fewer than that.
local ceiling = tonumber(ARGV[5] or ARGV[3])
local blocked = tonumber(redis.call('GET', block_key) or '0')
if blocked > now then
  return tostring(blocked - now)
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < ceiling then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""

# Re-stamp a granted slot with the completion time (only if it is still in the log).
_SETTLE = """
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
end
return 0
"""

# Extend the block, never shorten it.
_BLOCK = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ts = tonumber(ARGV[1])
if until_ts > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0
"""


class RateLimitTimeout(Exception):
    pass


class RedisRateLimiter:
    def __init__(self, redis_client, *, name: str, requests: int, window_s: float, max_wait_s: float = 600.0,
                 sleep=time.sleep) -> None:
        if requests < 1 or window_s <= 0:
            raise ValueError("A rate limit needs requests >= 1 and window_s > 0")
        self.redis = redis_client
        self.name = name
        self.key = f"spark:ratelimit:{name}"
        self.block_key = f"spark:ratelimit:{name}:blocked"
        self.requests = requests
        self.window_s = window_s
        self.max_wait_s = max_wait_s
        self._script = redis_client.register_script(_ACQUIRE)
        self._settle = redis_client.register_script(_SETTLE)
        self._block = redis_client.register_script(_BLOCK)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"RedisRateLimiter(name={self.name!r}, requests={self.requests}, window_s={self.window_s})"

    def _now(self) -> float:
        sec, usec = self.redis.time()  # Redis's clock, the same for every process
        return sec + usec / 1_000_000

    def try_acquire(self, member: str | None = None, *, ceiling: int | None = None) -> float:
        """Take a slot and return 0, or return the seconds to wait before one frees up. With `ceiling`, a slot is
        granted only while the window holds fewer than `ceiling` requests (the background lane)."""
        wait = float(self._script(
            keys=[self.key, self.block_key],
            args=[self._now(), self.window_s, self.requests, member or uuid.uuid4().hex,
                  min(self.requests, ceiling) if ceiling is not None else self.requests],
        ))
        return max(0.0, wait)

    def acquire(self, member: str | None = None) -> float:
        """Block until a slot is free; return the seconds waited. `member` names the slot for `settle`."""
        waited = 0.0
        while True:
            wait = self.try_acquire(member)
            if wait <= 0:
                return waited
            if waited + wait > self.max_wait_s:
                raise RateLimitTimeout(f"Spark rate limit: no slot within {self.max_wait_s:.0f}s")
            # A little more than needed, so concurrent waiters don't all wake at the same instant.
            step = min(wait + 0.01, 5.0)
            self._sleep(step)
            waited += step

    def settle(self, member: str) -> None:
        """The request that holds slot `member` has been answered: count its window from now."""
        self._settle(keys=[self.key], args=[self._now(), member])

    def block(self, seconds: float) -> None:
        """Spark said 429: hold every process using this key for `seconds`."""
        if seconds <= 0:
            return
        until = self._now() + seconds
        self._block(keys=[self.block_key], args=[until, int(seconds * 1000) + 1000])

    def blocked_for(self) -> float:
        value = self.redis.get(self.block_key)
        return max(0.0, float(value) - self._now()) if value else 0.0

    def in_window(self) -> int:
        now = self._now()
        return int(self.redis.zcount(self.key, now - self.window_s, "+inf"))

    def reset(self) -> None:
        self.redis.delete(self.key, self.block_key)


class BackgroundBudgetSpent(RateLimitTimeout):
    """The background lane's share of the window is in use: background work stops until the window moves on."""


class BackgroundLane:
    """A limiter for background work on a key: the same shared window, but a slot is taken only while the window's
    usage (everyone's requests) is below `share` of the limit, and it is never waited for.

    So background work spends at most `share` of the key's budget, and none of it while the agents' own requests
    already use that much: their clicks and writes never queue behind it. Used in place of the limiter by a
    SparkClient (`acquire`, `settle`, `block`); a refused slot raises `BackgroundBudgetSpent`.
    """

    def __init__(self, limiter: RedisRateLimiter, share: float) -> None:
        if not 0 < share <= 1:
            raise ValueError("A background share must be in (0, 1]")
        self.limiter = limiter
        self.share = share
        self.ceiling = max(1, int(limiter.requests * share))

    def __repr__(self) -> str:
        return f"BackgroundLane({self.limiter!r}, share={self.share})"

    @property
    def window_s(self) -> float:
        return self.limiter.window_s

    @property
    def requests(self) -> int:
        return self.limiter.requests

    def has_room(self) -> bool:
        return self.limiter.blocked_for() <= 0 and self.limiter.in_window() < self.ceiling

    def acquire(self, member: str | None = None) -> float:
        if self.limiter.try_acquire(member, ceiling=self.ceiling) > 0:
            raise BackgroundBudgetSpent(
                f"background share ({self.share:.0%} of {self.limiter.requests}) of the window in use")
        return 0.0

    def settle(self, member: str) -> None:
        self.limiter.settle(member)

    def block(self, seconds: float) -> None:
        self.limiter.block(seconds)
