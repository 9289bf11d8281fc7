"""The Spark Platform API client. Everything that speaks HTTP to Spark lives in this package."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from crm.spark.auth import ApiKeyAuth, NoAuth, OAuthAuth, OAuthTokens, RedisTokenStore
from crm.spark.client import SparkClient, SparkResponse
from crm.spark.errors import SparkAuthError, SparkError, SparkLinkBroken
from crm.spark.oauth import authorize_url, oauth_exchange_code
from crm.spark.paging import Page, iter_pages, iter_records
from crm.spark.ratelimit import RedisRateLimiter

__all__ = [
    "ApiKeyAuth", "NoAuth", "OAuthAuth", "OAuthTokens", "Page", "SparkAuthError", "SparkClient", "SparkError",
    "SparkLinkBroken", "SparkResponse", "auth_from_settings", "authorize_url", "build_client",
    "client_from_settings", "iter_pages", "iter_records", "oauth_exchange_code", "redis_client", "token_store",
]

AUTH_MODES = ("api_key", "oauth")


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


def auth_mode() -> str:
    """`SPARK_AUTH_MODE`: "api_key" (default; key + secret sessions) or "oauth" (per-agent tokens)."""
    from django.conf import settings

    mode = str(getattr(settings, "SPARK_AUTH_MODE", "api_key") or "api_key").lower()
    if mode not in AUTH_MODES:
        raise ValueError(f"SPARK_AUTH_MODE must be one of {', '.join(AUTH_MODES)}, not {mode!r}")
    return mode


def auth_from_settings(*, tokens: OAuthTokens | None = None, api_user: str | None = None, on_refresh=None,
                       reload=None, redirect_uri: str = ""):
    """The auth object the settings call for. In OAuth mode the caller supplies the agent's stored tokens."""
    from django.conf import settings

    if auth_mode() == "oauth":
        if tokens is None:
            raise ValueError("SPARK_AUTH_MODE=oauth: the agent's OAuth tokens are needed")
        return OAuthAuth(
            tokens, client_id=settings.SPARK_OAUTH_CLIENT_ID, client_secret=settings.SPARK_OAUTH_CLIENT_SECRET,
            redirect_uri=redirect_uri, api_user=api_user, on_refresh=on_refresh, reload=reload,
        )
    return ApiKeyAuth(settings.SPARK_API_KEY, settings.SPARK_API_SECRET, api_user=api_user, store=token_store())


def client_from_settings(*, tokens: OAuthTokens | None = None, api_user: str | None = None, on_refresh=None,
                         reload=None, **overrides) -> SparkClient:
    """A client in the mode the settings choose: the brokerage key (SPARK_API_KEY / SPARK_API_SECRET, optionally
    acting for `api_user`), or OAuth with the agent's `tokens`."""
    from django.conf import settings

    auth = auth_from_settings(tokens=tokens, api_user=api_user, on_refresh=on_refresh, reload=reload)
    rate_key = settings.SPARK_API_KEY if isinstance(auth, ApiKeyAuth) else "oauth:" + settings.SPARK_OAUTH_CLIENT_ID
    return build_client(auth, rate_key=rate_key, **overrides)
