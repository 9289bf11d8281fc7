"""The `{"D": {...}}` envelope, Spark error codes and the one exception handlers raise."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

MESSAGES = {
    404: "Not found",
    405: "Method Not Allowed",
    1000: "Invalid API key and/or request signed improperly",
    1015: "ApiUser must be supplied and the key must be allowed to act for that user",
    1016: "X-SparkApi-User-Agent header is required",
    1020: "Session token has expired",
    1026: "An unexpected problem occurred with the requested data",
    1035: "Request body must be valid JSON sent with Content-Type: application/json",
    1040: "The _filter syntax is invalid or refers to an unknown field",
    1041: "The _filter is too long or has too many expressions",
    1050: "A required parameter was not provided",
    1053: "The data you provided failed constraints",
    1055: "The write conflicts with existing data",
    1500: "The requested resource is not available at this API key's service level",
    1510: "The API is temporarily unavailable",
    1550: "Over rate limit",
}


class ApiError(Exception):
    """A Spark failure: HTTP status, Spark code, message and the optional extra envelope members."""

    def __init__(self, status: int, code: int, message: str | None = None, **extra: Any) -> None:
        super().__init__(message or MESSAGES.get(code, "Error"))
        self.status = status
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict:
        d: dict[str, Any] = {"Success": False, "Code": self.code, "Message": self.message}
        d.update({k: v for k, v in self.extra.items() if v is not None})
        return {"D": d}


def not_found(what: str = "Resource") -> ApiError:
    return ApiError(404, 404, f"{what} not found")


def forbidden_role(message: str = "") -> ApiError:
    return ApiError(403, 1500, message or MESSAGES[1500])


def constraint(message: str, field: str | None = None, rule: str | None = None, value: Any = None) -> ApiError:
    """400/1053 with `Details` (fixture shape) and `Errors` (documented shape) naming the offending attribute."""
    if field is None:
        return ApiError(400, 1053, message)
    details = [{field: [{"RuleName": rule or "Invalid", "RuleValue": None, "Value": value,
                          "RuleField": None, "RuleFieldValue": None}]}]
    errors = [{"Type": "InvalidAttribute", "Attribute": field, "Message": message,
               "Rule": {"Id": rule or "Invalid", "Status": "Fatal"}}]
    return ApiError(400, 1053, message, Details=details, Errors=errors)


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate some client stored: it goes out as its JSON escape ("\ud800")
        body = json.dumps(payload, separators=(",", ":")).encode("ascii")
    return Response(body, status=status, headers=headers, content_type="application/json; charset=utf-8")


def success(results: list | None = None, pagination: dict | None = None, status: int = 200) -> Response:
    d: dict[str, Any] = {"Success": True}
    if results is not None:
        d["Results"] = results
    if pagination is not None:
        d["Pagination"] = pagination
    return json_response({"D": d}, status=status)


def error_response(err: ApiError) -> Response:
    return json_response(err.body(), status=err.status, headers=err.headers)
