"""The Spark Platform API client. Everything that speaks HTTP to Spark lives in this package."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from crm.spark.auth import ApiKeyAuth, OAuthAuth, OAuthTokens, RedisTokenStore
from crm.spark.client import SparkClient, SparkResponse
from crm.spark.errors import SparkError
from crm.spark.paging import iter_pages, iter_records
from crm.spark.ratelimit import RedisRateLimiter

__all__ = [
    "ApiKeyAuth", "OAuthAuth", "OAuthTokens", "SparkClient", "SparkError", "SparkResponse",
    "build_client", "iter_pages", "iter_records", "redis_client", "token_store",
]


@lru_cache(maxsize=1)
def redis_client():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)


def _upstream_prefix() -> str:
    """Keys in Redis are per upstream, so two Spark hosts (or two simulators) never share a token."""
    from django.conf import settings

    return hashlib.sha256(settings.SPARK_API_BASE.encode()).hexdigest()[:12]


def token_store() -> RedisTokenStore:
    return RedisTokenStore(redis_client(), prefix=f"spark:auth:{_upstream_prefix()}:")


def rate_limiter_for(key_identity: str) -> RedisRateLimiter | None:
    from django.conf import settings

    if not settings.SPARK_RATE_LIMIT_ENABLED:
        return None
    name = _upstream_prefix() + ":" + hashlib.sha256(key_identity.encode()).hexdigest()[:24]
    return RedisRateLimiter(
        redis_client(), name=name,
        requests=settings.SPARK_RATE_LIMIT_REQUESTS, window_s=settings.SPARK_RATE_LIMIT_WINDOW_S,
    )


def build_client(auth, *, rate_key: str, **overrides) -> SparkClient:
    """A client configured from settings; `rate_key` names the Spark key whose limit the request counts against."""
    from django.conf import settings

    options = dict(
        base_url=settings.SPARK_API_BASE,
        version=settings.SPARK_API_VERSION,
        user_agent=settings.SPARK_USER_AGENT,
        connect_timeout=settings.SPARK_CONNECT_TIMEOUT,
        read_timeout=settings.SPARK_READ_TIMEOUT,
        max_retries=settings.SPARK_MAX_RETRIES,
        rate_limiter=rate_limiter_for(rate_key),
    )
    options.update(overrides)
    return SparkClient(auth=auth, **options)


def client_from_settings(**overrides) -> SparkClient:
    """The brokerage key's client (SPARK_API_KEY / SPARK_API_SECRET)."""
    from django.conf import settings

    auth = ApiKeyAuth(settings.SPARK_API_KEY, settings.SPARK_API_SECRET, store=token_store())
    return build_client(auth, rate_key=settings.SPARK_API_KEY, **overrides)
