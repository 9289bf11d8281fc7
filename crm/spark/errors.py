"""The SparkError family and the one function that maps a failed response to it.

The Spark code beats the HTTP status: Spark documents codes whose status has changed over time
(1550 was 503, is 429), so a known code decides the class and the status is only the fallback.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any


class SparkError(Exception):
    """Any failure talking to Spark. `message` is Spark's own words, safe to show an agent."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        request_id: str | None = None,
        errors: list | None = None,
        details: list | None = None,
        sparkql_errors: list | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.errors = errors or []
        self.details = details or []
        self.sparkql_errors = sparkql_errors or []
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None or self.status is not None:
            parts.append(f"(HTTP {self.status}, code {self.code})")
        return " ".join(parts)

    @property
    def agent_message(self) -> str:
        """What an agent reads: Spark's message plus any field or filter errors it gave."""
        extra = [
            str(e.get("Message"))
            for e in [*self.errors, *self.sparkql_errors]
            if isinstance(e, dict) and e.get("Message") and e.get("Message") != self.message
        ]
        return "; ".join([self.message, *extra]) if extra else self.message


class SparkAuthError(SparkError):
    """401/1000 and friends: the key, secret or signature is wrong. Needs a person, not a retry."""


class SparkSessionExpired(SparkAuthError):
    """401/1020: the session or access token expired. The client re-authenticates once and retries."""


class SparkOAuthError(SparkAuthError):
    """The OAuth token endpoint refused a grant (`oauth_error` holds its `error`, e.g. invalid_grant)."""

    def __init__(self, message: str, *, oauth_error: str | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.oauth_error = oauth_error


class SparkLinkBroken(SparkOAuthError):
    """The agent's Spark link no longer works (refresh token refused or revoked): they must reconnect."""


class SparkForbidden(SparkError):
    """403: the key's role, office or MLS does not allow this (1500, 1015, 1505...)."""


class SparkNotFound(SparkError):
    """404: no such resource, or not visible to this user."""


class SparkNotAllowed(SparkError):
    """405: the method is not implemented on this resource, or the key is read-only (1017/1018)."""


class SparkValidationError(SparkError):
    """400: the request broke a rule (1053 constraints, 1040 filter syntax, 1050 missing...)."""


class SparkConflict(SparkError):
    """409: the write conflicts with existing data (1055 duplicate e-mail, 2505...)."""


class SparkRateLimited(SparkError):
    """429/1550: over the key's rate limit. Retry after `retry_after` seconds."""

    retryable = True


class SparkServerError(SparkError):
    """5xx (and 1510/1515/1516/1023/1024): Spark could not answer now."""

    retryable = True


class SparkTimeout(SparkError):
    """No answer within the read timeout. The request may or may not have been applied."""

    retryable = True


class SparkConnectionError(SparkError):
    """Connection refused (nothing was sent, nothing applied), or lost mid-request (`request_sent`: maybe applied)."""

    retryable = True
    request_sent = False


class SparkInvalidResponse(SparkError):
    """A 2xx whose body is not the documented {"D": ...} envelope."""

    retryable = True


_BY_CODE: dict[int, type[SparkError]] = {
    404: SparkNotFound,
    405: SparkNotAllowed,
    1000: SparkAuthError,
    1010: SparkAuthError,
    1020: SparkSessionExpired,
    1005: SparkForbidden,
    1013: SparkForbidden,
    1015: SparkForbidden,
    1019: SparkForbidden,
    1021: SparkForbidden,
    1030: SparkForbidden,
    1100: SparkForbidden,
    1500: SparkForbidden,
    1505: SparkForbidden,
    1017: SparkNotAllowed,
    1018: SparkNotAllowed,
    1016: SparkValidationError,
    1035: SparkValidationError,
    1040: SparkValidationError,
    1041: SparkValidationError,
    1050: SparkValidationError,
    1053: SparkValidationError,
    1060: SparkValidationError,
    1061: SparkValidationError,
    1022: SparkValidationError,
    3000: SparkValidationError,
    1055: SparkConflict,
    1110: SparkConflict,
    2505: SparkConflict,
    1550: SparkRateLimited,
    1023: SparkServerError,
    1024: SparkServerError,
    1026: SparkServerError,
    1510: SparkServerError,
    1515: SparkServerError,
    1516: SparkServerError,
    2005: SparkServerError,
}

_BY_STATUS: dict[int, type[SparkError]] = {
    400: SparkValidationError,
    401: SparkAuthError,
    403: SparkForbidden,
    404: SparkNotFound,
    405: SparkNotAllowed,
    409: SparkConflict,
    422: SparkValidationError,
    429: SparkRateLimited,
}


def error_class_for(status: int, code: int | None) -> type[SparkError]:
    if code is not None and code in _BY_CODE:
        return _BY_CODE[code]
    if code is not None and 2000 <= code < 3000 and code != 2005:
        return SparkValidationError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return SparkServerError
    return SparkError


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def error_from_response(status: int, body: Any, headers: dict | None = None) -> SparkError:
    """Build the SparkError for a non-2xx answer (body already JSON-decoded, or None)."""
    headers = headers or {}
    d = body.get("D") if isinstance(body, dict) else None
    d = d if isinstance(d, dict) else {}
    code = d.get("Code")
    try:
        code = int(code) if code is not None else None
    except (TypeError, ValueError):
        code = None
    message = d.get("Message") or (body.get("error_description") or body.get("error") if isinstance(body, dict) else None)
    message = str(message) if message else f"Spark answered HTTP {status}"
    cls = error_class_for(status, code)
    return cls(
        message,
        status=status,
        code=code,
        request_id=_header(headers, "X-Request-Id"),
        errors=_as_list(d.get("Errors")),
        details=_as_list(d.get("Details")),
        sparkql_errors=_as_list(d.get("SparkQLErrors")),
        retry_after=_parse_retry_after(_header(headers, "Retry-After")),
    )


def _as_list(value: Any) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    return []


def _header(headers: Any, name: str) -> str | None:
    # requests' CaseInsensitiveDict, or a plain dict from a test
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value
