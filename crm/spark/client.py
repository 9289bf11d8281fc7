"""SparkClient: the only code that speaks HTTP to Spark.

One `request()` does the envelope, signing, timeouts, the shared rate limiter, logging without secrets,
one re-authentication on 401 (1020, or 1000 on a token another process replaced), and retries with backoff
for retryable errors where a retry is safe.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from crm.spark.auth import tokens_from_grant
from crm.spark.errors import (
    SparkAuthError,
    SparkConnectionError,
    SparkError,
    SparkInvalidResponse,
    SparkLinkBroken,
    SparkOAuthError,
    SparkRateLimited,
    SparkTimeout,
    error_from_response,
)
from crm.spark.ratelimit import RateLimitTimeout

log = logging.getLogger("crm.spark")

# Methods Spark treats as idempotent: repeating one cannot apply a change twice.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
# OAuth errors that mean the refresh token itself is no good: the agent has to reconnect.
LINK_BROKEN_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "invalid_request"})
# When Spark says 429 without a Retry-After, hold the key this long.
DEFAULT_429_BLOCK_S = 1.0


@dataclass
class SparkResponse:
    results: list[dict]
    pagination: dict | None = None
    status: int = 200
    request_id: str | None = None
    raw: dict = field(default_factory=dict)

    def created_id(self) -> str:
        """The new record's Id from a create answer: `Id`, else the tail of `ResourceUri` (GEM does the same)."""
        first = self.results[0] if self.results and isinstance(self.results[0], dict) else {}
        ident = first.get("Id") or str(first.get("ResourceUri") or "").rstrip("/").rsplit("/", 1)[-1]
        if not ident:
            raise SparkInvalidResponse(
                "Spark accepted the create but named no resource.", status=self.status, request_id=self.request_id
            )
        return str(ident)


def _stringify(params: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        out[key] = str(value)
    return out


def _connection_never_made(exc: requests.ConnectionError) -> bool:
    """True when the TCP connection was never established (refused, DNS, connect timeout): nothing was sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


class SparkClient:
    def __init__(
        self,
        *,
        base_url: str,
        auth,
        user_agent: str,
        version: str = "v1",
        connect_timeout: float = 3.05,
        read_timeout: float = 20.0,
        max_retries: int = 3,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        max_retry_after_s: float = 60.0,
        rate_limiter=None,
        session: requests.Session | None = None,
        sleep=time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.user_agent = user_agent
        self.version = version
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.max_retry_after_s = max_retry_after_s
        self.rate_limiter = rate_limiter
        self.http = session or requests.Session()
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"SparkClient(base_url={self.base_url!r}, auth={self.auth!r})"

    def full_path(self, path: str) -> str:
        """`/contacts/x y` -> `/v1/contacts/x%20y`. Already-escaped segments (resources quote ids) stay as they are."""
        if not path.startswith("/"):
            path = "/" + path
        return quote(f"/{self.version}{path}", safe="/%:@,;=+-._~")

    # -- public ------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        retry_post: bool = False,
    ) -> SparkResponse:
        """Call Spark and return the unwrapped envelope, or raise a SparkError.

        `path` is without `/v1`; `data` is what goes inside `{"D": ...}`. A POST is retried only when Spark
        certainly did not apply it (connection never made, 429), unless the caller says it is safe (`retry_post`).
        """
        method = method.upper()
        full_path = self.full_path(path)
        body = "" if data is None else json.dumps({"D": data}, separators=(",", ":"))
        plain = _stringify(params)
        renewed = False
        attempt = 0
        while True:
            try:
                prepared = self.auth.prepare(self, method, full_path, plain, body)
            except SparkAuthError:
                raise  # the credentials themselves were refused while opening a session: a person must fix them
            except SparkError as exc:
                # Opening a session (or refreshing a token) failed on the way: nothing of this request was sent.
                attempt = self._retry_or_raise(exc, "GET", False, attempt, "/session")
                continue
            try:
                return self._send(method, full_path, prepared.params, body, prepared.headers)
            except SparkAuthError:
                # 1020 is the documented expiry; a 1000 on a cached token also means it is no longer live
                # (a new session for the key replaced it). Renew once; a second refusal is final.
                if renewed:
                    raise
                renewed = True
                self.auth.renew(self, prepared.credential)
            except SparkError as exc:
                attempt = self._retry_or_raise(exc, method, retry_post, attempt, full_path)

    def _retry_or_raise(self, exc: SparkError, method: str, retry_post: bool, attempt: int, full_path: str) -> int:
        """Sleep before the next attempt and return its number, or re-raise `exc` when a retry is not safe."""
        if not self._may_retry(exc, method, retry_post) or attempt >= self.max_retries:
            raise exc
        delay = self._backoff(attempt + 1, exc)
        if delay is None:
            raise exc
        attempt += 1
        log.info("spark retry %s %s attempt=%d in %.2fs after %s %s",
                 method, full_path, attempt, delay, type(exc).__name__, exc.code or "")
        self._sleep(delay)
        return attempt

    def send_raw(self, method: str, full_path: str, *, params: dict, body: str, authenticating: bool = False) -> list:
        """An unauthenticated call (session opening). Returns Results."""
        return self._send(method, full_path, params, body, {}).results

    def oauth_grant(self, payload: dict):
        """POST /v1/oauth2/grant (JSON body, answer not D-wrapped). Returns OAuthTokens.

        A refused refresh grant raises SparkLinkBroken (the agent must reconnect); a refused code exchange
        raises SparkOAuthError. Never retried: a refresh token may be single-use.
        """
        full_path = self.full_path("/oauth2/grant")
        member = uuid.uuid4().hex
        self._acquire(member)
        started = time.monotonic()
        try:
            resp = self.http.post(self.base_url + full_path, data=json.dumps(payload), headers=self._headers(),
                                  timeout=self.timeout)
        except requests.Timeout as exc:
            self._log("POST", full_path, None, None, started, None)
            raise SparkTimeout("Spark did not answer the token request in time.") from exc
        except requests.ConnectionError as exc:
            self._log("POST", full_path, None, None, started, None)
            raise SparkConnectionError("Could not connect to Spark for the token request.") from exc
        finally:
            self._settle(member)
        request_id = resp.headers.get("X-Request-Id")
        try:
            body = resp.json()
        except ValueError:
            body = None
        code = body["D"].get("Code") if isinstance(body, dict) and isinstance(body.get("D"), dict) else None
        self._log("POST", full_path, resp.status_code, code, started, request_id)
        if resp.status_code < 300 and isinstance(body, dict) and body.get("access_token"):
            return tokens_from_grant(body)
        oauth_error = str(body.get("error")) if isinstance(body, dict) and body.get("error") else None
        err = error_from_response(resp.status_code if resp.status_code >= 300 else 502, body, resp.headers)
        if resp.status_code >= 500 or isinstance(err, SparkRateLimited):
            self._note_rate_limited(err)
            raise err
        refreshing = payload.get("grant_type") == "refresh_token"
        cls = SparkLinkBroken if refreshing and (oauth_error in LINK_BROKEN_ERRORS or resp.status_code in (400, 401)) \
            else SparkOAuthError
        what = "Spark refused to refresh the agent's access" if refreshing else "Spark refused the OAuth grant"
        raise cls(
            f"{what}: {err.message}", status=err.status, code=err.code, request_id=request_id, oauth_error=oauth_error
        )

    # -- internals ---------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            "X-SparkApi-User-Agent": self.user_agent,
        }

    def _acquire(self, member: str) -> None:
        if self.rate_limiter is None:
            return
        try:
            waited = self.rate_limiter.acquire(member)
        except RateLimitTimeout as exc:
            raise SparkRateLimited(str(exc)) from exc
        if waited:
            log.debug("spark rate limiter held a request for %.2fs", waited)

    def _settle(self, member: str) -> None:
        if self.rate_limiter is not None:
            self.rate_limiter.settle(member)

    def _note_rate_limited(self, exc: SparkError) -> None:
        if isinstance(exc, SparkRateLimited) and exc.status is not None and self.rate_limiter is not None:
            self.rate_limiter.block(exc.retry_after if exc.retry_after is not None else DEFAULT_429_BLOCK_S)

    def _send(self, method: str, full_path: str, params: dict, body: str, extra_headers: dict) -> SparkResponse:
        member = uuid.uuid4().hex
        self._acquire(member)
        headers = {**self._headers(), **extra_headers, "X-Request-Id-Chain": member}
        started = time.monotonic()
        try:
            resp = self.http.request(
                method,
                self.base_url + full_path,
                params=params,
                data=body.encode("utf-8") if body else None,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.ConnectTimeout as exc:
            self._log(method, full_path, None, None, started, None)
            raise SparkConnectionError("Could not connect to Spark (connect timeout).") from exc
        except requests.Timeout as exc:
            self._log(method, full_path, None, None, started, None)
            raise SparkTimeout("Spark did not answer in time.") from exc
        except requests.ConnectionError as exc:
            self._log(method, full_path, None, None, started, None)
            if _connection_never_made(exc):
                raise SparkConnectionError("Could not connect to Spark.") from exc
            err = SparkConnectionError("The connection to Spark was lost before it answered.")
            err.request_sent = True
            raise err from exc
        finally:
            self._settle(member)
        request_id = resp.headers.get("X-Request-Id")
        try:
            payload = resp.json()
        except ValueError:
            payload = None
        code = None
        if isinstance(payload, dict) and isinstance(payload.get("D"), dict):
            code = payload["D"].get("Code")
        self._log(method, full_path, resp.status_code, code, started, request_id)
        if resp.status_code >= 400:
            err = error_from_response(resp.status_code, payload, resp.headers)
            self._note_rate_limited(err)
            raise err
        if not isinstance(payload, dict) or not isinstance(payload.get("D"), dict):
            raise SparkInvalidResponse(
                "Spark answered without the {\"D\": ...} envelope.", status=resp.status_code, request_id=request_id
            )
        d = payload["D"]
        if d.get("Success") is False:
            raise error_from_response(resp.status_code if resp.status_code >= 400 else 400, payload, resp.headers)
        results = d.get("Results") or []
        return SparkResponse(
            results=results if isinstance(results, list) else [results],
            pagination=d.get("Pagination"),
            status=resp.status_code,
            request_id=request_id,
            raw=d,
        )

    def _log(self, method, full_path, status, code, started, request_id) -> None:
        # The path only: the query holds AuthToken and ApiSig.
        ms = int((time.monotonic() - started) * 1000)
        # "code:" not "code=": the secrets filter scrubs anything that looks like an OAuth `code=` parameter.
        log.info(
            "spark %s %s status=%s code:%s ms=%d request_id=%s",
            method, full_path, status, "-" if code is None else code, ms, request_id,
            extra={"spark_method": method, "spark_path": full_path, "spark_status": status, "spark_code": code,
                   "spark_ms": ms, "spark_request_id": request_id},
        )

    @staticmethod
    def _may_retry(exc: SparkError, method: str, retry_post: bool) -> bool:
        if not exc.retryable:
            return False
        if isinstance(exc, SparkRateLimited) and exc.status is None:
            return False  # our own limiter already waited as long as it may
        if method in IDEMPOTENT_METHODS or retry_post:
            return True
        # A POST that certainly was not applied.
        if isinstance(exc, SparkConnectionError):
            return not getattr(exc, "request_sent", False)
        return isinstance(exc, SparkRateLimited)

    def _backoff(self, attempt: int, exc: SparkError) -> float | None:
        """Seconds to wait before retry `attempt`, or None when Spark asks for longer than we may wait."""
        if exc.retry_after is not None:
            if exc.retry_after > self.max_retry_after_s:
                return None
            return exc.retry_after + random.uniform(0, 0.1)
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)
