"""SparkClient: the only code that speaks HTTP to Spark.

One `request()` does the envelope, signing, timeouts, the shared rate limiter, logging without secrets,
one re-authentication on 1020, and retries with backoff for retryable errors where a retry is safe.
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

from crm.spark.errors import (
    SparkConnectionError,
    SparkError,
    SparkInvalidResponse,
    SparkAuthError,
    SparkRateLimited,
    SparkTimeout,
    error_from_response,
)

log = logging.getLogger("crm.spark")


@dataclass
class SparkResponse:
    results: list[dict]
    pagination: dict | None = None
    status: int = 200
    request_id: str | None = None
    raw: dict = field(default_factory=dict)


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
        self.rate_limiter = rate_limiter
        self.http = session or requests.Session()
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"SparkClient(base_url={self.base_url!r}, auth={self.auth!r})"

    def full_path(self, path: str) -> str:
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

        A POST is retried only when Spark certainly did not apply it (connection refused, 429), unless the
        caller says it is safe (`retry_post`).
        """
        method = method.upper()
        full_path = self.full_path(path)
        body = "" if data is None else json.dumps({"D": data}, separators=(",", ":"))
        plain = _stringify(params)
        renewed = False
        attempt = 0
        while True:
            prepared = self.auth.prepare(self, method, full_path, plain, body)
            try:
                return self._send(method, full_path, prepared.params, body, prepared.headers)
            except SparkAuthError:
                # 1020 is the documented expiry; a 1000 on a cached token also means it is no longer live
                # (a new session for the key replaced it). Renew once; a second refusal is final.
                if renewed:
                    raise
                renewed = True
                self.auth.renew(self, prepared.credential)
                continue
            except SparkError as exc:
                if not self._may_retry(exc, method, retry_post) or attempt >= self.max_retries:
                    raise
                attempt += 1
                delay = self._backoff(attempt, exc)
                log.info("spark retry %s %s in %.2fs after %s", method, full_path, delay, type(exc).__name__)
                self._sleep(delay)

    def send_raw(self, method: str, full_path: str, *, params: dict, body: str, authenticating: bool = False) -> list:
        """An unauthenticated call (session opening). Returns Results."""
        return self._send(method, full_path, params, body, {}).results

    def oauth_grant(self, payload: dict):
        """POST /v1/oauth2/grant (JSON body, answer not D-wrapped). Returns OAuthTokens."""
        from crm.spark.auth import tokens_from_grant

        url = self.base_url + self.full_path("/oauth2/grant")
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        started = time.monotonic()
        try:
            resp = self.http.post(url, json=payload, headers=self._headers(), timeout=self.timeout)
        except requests.Timeout as exc:
            raise SparkTimeout("Spark did not answer the token request in time.") from exc
        except requests.ConnectionError as exc:
            raise SparkConnectionError("Could not connect to Spark for the token request.") from exc
        log.info("spark POST /oauth2/grant status=%s ms=%d", resp.status_code, (time.monotonic() - started) * 1000)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code >= 300 or not isinstance(body, dict) or "access_token" not in body:
            err = error_from_response(resp.status_code if resp.status_code >= 300 else 502, body, dict(resp.headers))
            raise type(err)(f"OAuth grant refused: {err.message}", status=err.status, code=err.code)
        return tokens_from_grant(body)

    # -- internals ---------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            "X-SparkApi-User-Agent": self.user_agent,
        }

    def _send(self, method: str, full_path: str, params: dict, body: str, extra_headers: dict) -> SparkResponse:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        headers = {**self._headers(), **extra_headers, "X-Request-Id-Chain": uuid.uuid4().hex}
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
            raise SparkConnectionError("Could not connect to Spark.") from exc
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
            raise error_from_response(resp.status_code, payload, dict(resp.headers))
        if not isinstance(payload, dict) or not isinstance(payload.get("D"), dict):
            raise SparkInvalidResponse(
                "Spark answered without the {\"D\": ...} envelope.", status=resp.status_code, request_id=request_id
            )
        d = payload["D"]
        if d.get("Success") is False:
            raise error_from_response(resp.status_code if resp.status_code >= 400 else 400, payload, dict(resp.headers))
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
        log.info(
            "spark %s %s status=%s code=%s ms=%d request_id=%s",
            method, full_path, status, code, (time.monotonic() - started) * 1000, request_id,
        )

    @staticmethod
    def _may_retry(exc: SparkError, method: str, retry_post: bool) -> bool:
        if not exc.retryable:
            return False
        if method in ("GET", "PUT", "DELETE") or retry_post:
            return True
        # A POST that certainly was not applied.
        return isinstance(exc, (SparkConnectionError, SparkRateLimited))

    def _backoff(self, attempt: int, exc: SparkError) -> float:
        if exc.retry_after is not None:
            return min(exc.retry_after, self.backoff_cap_s * 4)
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)
