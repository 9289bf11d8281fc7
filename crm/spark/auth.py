"""Spark authentication: API-key sessions with per-request signing, and OAuth 2 bearer tokens.

Spark allows one live session token per API key, so every process that uses a key must share its token:
the token lives in a TokenStore (Redis in production) and re-authentication happens under a lock.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from crm.spark.errors import SparkAuthError, SparkLinkBroken


class SparkClient(Protocol):
    """What an authenticator needs of the client (crm.spark.client.SparkClient): described here, not imported,
    so that the client may import this module and not the other way round."""

    def full_path(self, path: str) -> str: ...
    def send_raw(self, method: str, full_path: str, *, params: dict, body: str,
                 authenticating: bool = False) -> Any: ...
    def oauth_grant(self, payload: dict) -> OAuthTokens: ...


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - Spark's documented signature


def session_signature(secret: str, key: str) -> str:
    return md5_hex(secret + "ApiKey" + key)


def request_signature(secret: str, key: str, path: str, params: Mapping[str, str], body: str = "") -> str:
    """ApiSig of a signed request: the path includes /v1, params exclude ApiSig, sorted byte-wise by key."""
    joined = "".join(k + str(params[k]) for k in sorted(params, key=lambda k: k.encode("utf-8")) if k != "ApiSig")
    return md5_hex(secret + "ApiKey" + key + "ServicePath" + path + joined + body)


class TokenStore(Protocol):
    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str, ttl_s: int) -> None: ...
    def lock(self, name: str): ...


class MemoryTokenStore:
    """Per-process token store, for a single process (scripts, unit tests)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def set(self, name: str, value: str, ttl_s: int) -> None:
        self._values[name] = value

    def lock(self, name: str):
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())


class RedisTokenStore:
    """Token store shared by every web and worker process through Redis."""

    def __init__(self, redis_client, prefix: str = "spark:auth:") -> None:
        self.redis = redis_client
        self.prefix = prefix

    def get(self, name: str) -> str | None:
        value = self.redis.get(self.prefix + name)
        return value.decode() if isinstance(value, bytes) else value

    def set(self, name: str, value: str, ttl_s: int) -> None:
        self.redis.set(self.prefix + name, value, ex=max(1, ttl_s))

    def lock(self, name: str):
        return self.redis.lock(self.prefix + "lock:" + name, timeout=30, blocking_timeout=35)


@dataclass
class PreparedAuth:
    params: dict[str, str]
    headers: dict[str, str]
    credential: str  # the token used, to tell later whether someone else already renewed it


class ApiKeyAuth:
    """API key + secret: open a session, then sign every request."""

    def __init__(self, key: str, secret: str, *, api_user: str | None = None, store: TokenStore | None = None) -> None:
        if not key or not secret:
            raise ValueError("An API key and secret are required for API-key authentication.")
        self.key = key
        self.secret = secret
        self.api_user = api_user
        self.store = store or MemoryTokenStore()
        self._name = "session:" + hashlib.sha256(key.encode()).hexdigest()[:24]

    def __repr__(self) -> str:  # never the secret
        return f"ApiKeyAuth(key={self.key[:4]}…, api_user={self.api_user!r})"

    def _open_session(self, client: SparkClient) -> str:
        path = client.full_path("/session")
        params = {"ApiKey": self.key, "ApiSig": session_signature(self.secret, self.key)}
        results = client.send_raw("POST", path, params=params, body="", authenticating=True)
        token = results[0]["AuthToken"]
        self.store.set(self._name, token, ttl_s=3600)
        return token

    def _token(self, client: SparkClient) -> str:
        token = self.store.get(self._name)
        if token:
            return token
        with self.store.lock(self._name):
            return self.store.get(self._name) or self._open_session(client)

    def prepare(self, client: SparkClient, method: str, path: str, params: dict[str, str], body: str) -> PreparedAuth:
        token = self._token(client)
        signed = {**params, "AuthToken": token}
        if self.api_user:
            signed["ApiUser"] = self.api_user
        signed_body = body if method in ("POST", "PUT", "PATCH") else ""
        signed["ApiSig"] = request_signature(self.secret, self.key, path, signed, signed_body)
        return PreparedAuth(params=signed, headers={}, credential=token)

    def renew(self, client: SparkClient, expired_credential: str) -> None:
        """Called once on 1020: open a new session unless another process already did."""
        with self.store.lock(self._name):
            current = self.store.get(self._name)
            if current and current != expired_credential:
                return
            self._open_session(client)


@dataclass
class OAuthTokens:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds; 0 when unknown

    def __repr__(self) -> str:  # never the tokens themselves
        return f"OAuthTokens(expires_at={self.expires_at!r})"

    def expired(self, *, leeway_s: float = 60.0, now: float | None = None) -> bool:
        return bool(self.expires_at) and (now or time.time()) >= self.expires_at - leeway_s


class OAuthAuth:
    """OAuth 2 access token sent as `Authorization: OAuth <token>`; refreshed once on 401 (1020).

    `on_refresh(tokens)` lets the caller persist new tokens (they are stored per agent, encrypted).
    `reload()` (optional) returns the tokens as currently stored: when another process refreshed first and the
    refresh token we hold was already used, the stored pair is taken instead of declaring the link broken.
    A refresh that Spark refuses raises SparkLinkBroken: the agent has to reconnect.
    """

    def __init__(
        self,
        tokens: OAuthTokens,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str = "",
        api_user: str | None = None,
        on_refresh: Callable[[OAuthTokens], None] | None = None,
        reload: Callable[[], OAuthTokens | None] | None = None,
        scheme: str = "OAuth",
    ) -> None:
        self.tokens = tokens
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.api_user = api_user
        self.on_refresh = on_refresh
        self.reload = reload
        self.scheme = scheme
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OAuthAuth(client_id={self.client_id!r})"

    def prepare(self, client: SparkClient, method: str, path: str, params: dict[str, str], body: str) -> PreparedAuth:
        if self.tokens.expired() and self.tokens.refresh_token:
            # Known to be past its expiry: refresh first rather than spend a request on a certain 1020.
            self.renew(client, self.tokens.access_token)
        params = dict(params)
        if self.api_user:
            params["ApiUser"] = self.api_user
        token = self.tokens.access_token
        return PreparedAuth(params=params, headers={"Authorization": f"{self.scheme} {token}"}, credential=token)

    def renew(self, client: SparkClient, expired_credential: str) -> None:
        with self._lock:
            if self.tokens.access_token != expired_credential:
                return  # another thread already refreshed
            if self.reload is not None:
                stored = self.reload()
                if stored is not None and stored.access_token != expired_credential:
                    self.tokens = stored  # another process already refreshed
                    return
            if not self.tokens.refresh_token:
                raise SparkLinkBroken("The agent's Spark access expired and there is no refresh token.", status=401)
            self.tokens = client.oauth_grant(
                {
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "grant_type": "refresh_token",
                    "refresh_token": self.tokens.refresh_token,
                    "redirect_uri": self.redirect_uri,
                }
            )
            if self.on_refresh:
                self.on_refresh(self.tokens)


class NoAuth:
    """For the unauthenticated calls (the OAuth token endpoint)."""

    def __repr__(self) -> str:
        return "NoAuth()"

    def prepare(self, client: SparkClient, method: str, path: str, params: dict[str, str], body: str) -> PreparedAuth:
        return PreparedAuth(params=dict(params), headers={}, credential="")

    def renew(self, client: SparkClient, expired_credential: str) -> None:
        raise SparkAuthError("This call needs Spark credentials.", status=401)


def tokens_from_grant(body: Mapping) -> OAuthTokens:
    raw = body.get("expires_in")
    try:
        expires_in = 86400 if raw is None or raw == "" else int(float(raw))  # GEM's default when absent
    except (TypeError, ValueError):
        expires_in = 86400
    return OAuthTokens(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token") or ""),
        expires_at=time.time() + expires_in,
    )
