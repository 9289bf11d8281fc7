"""Building clients against the test sparksim."""

from __future__ import annotations

import uuid

from crm.spark import ApiKeyAuth, SparkClient
from crm.spark.auth import MemoryTokenStore
from crm.spark.ratelimit import RedisRateLimiter


def make_client(sim, login: str = "alice", **kw) -> SparkClient:
    acct = sim.account(login)
    auth = ApiKeyAuth(acct["api_key"], kw.pop("secret", acct["api_secret"]), api_user=kw.pop("api_user", None),
                      store=kw.pop("store", None) or MemoryTokenStore())
    kw.setdefault("max_retries", 0)
    kw.setdefault("sleep", lambda s: None)
    return SparkClient(base_url=kw.pop("base_url", sim.url), auth=auth, user_agent="FlexCRM-tests/1.0", **kw)


def requests_to(sim, seq: int, path: str, method: str | None = None) -> list[dict]:
    return [r for r in sim.requests_since(seq) if r["path"] == path and (method is None or r["method"] == method)]


def redis_conn():
    import redis

    return redis.Redis.from_url("redis://127.0.0.1:6379/0")


def limiter(requests: int, window_s: float, name: str | None = None) -> RedisRateLimiter:
    rl = RedisRateLimiter(redis_conn(), name=name or f"test-{uuid.uuid4().hex}", requests=requests,
                          window_s=window_s)
    rl.reset()
    return rl
