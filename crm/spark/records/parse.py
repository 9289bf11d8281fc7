"""Parsing Spark's JSON values: cleaned text, numbers and booleans as strings, empty timestamps, lists."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

# What PostgreSQL's text and jsonb cannot hold (NUL), the other C0 control characters (no place in a name, a note
# or a tag; tab, newline and carriage return stay) and lone UTF-16 surrogates (a JSON "\ud800" escape parses to
# one, and psycopg cannot encode it as UTF-8).
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """The text without the characters PostgreSQL (or psycopg) cannot store; everything else kept as it is."""
    return _UNSTORABLE.sub("", value)


def clean_value(value: Any) -> Any:
    """A copy of decoded JSON with every string (keys too, at any depth) cleaned by `clean_text`, and the
    non-finite numbers that JSON has no spelling for (jsonb refuses them) turned into null."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse_timestamp(value: Any) -> dt.datetime | None:
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def parse_date(value: Any) -> dt.date | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def parse_int(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def parse_float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def parse_str_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v is not None and str(v) != ""]
    if isinstance(value, str) and value:
        return [value]
    return []


# The documented writable contact attributes and their maximum lengths (Contacts page).
CONTACT_WRITABLE_LIMITS: dict[str, int] = {
    "DisplayName": 75, "PrimaryEmail": 75,
    **{name: 300 for name in (
        "GivenName", "MiddleName", "FamilyName", "SpouseGivenName", "SpouseMiddleName", "SpouseFamilyName",
        "PrimaryPhoneNumber", "HomePhoneNumber", "WorkPhoneNumber", "FaxPhoneNumber", "MobilePhoneNumber",
        "PagerPhoneNumber", "OtherPhoneNumber", "HomeStreetAddress", "HomeLocality", "HomeRegion", "HomePostalCode",
        "WorkStreetAddress", "WorkLocality", "WorkRegion", "WorkPostalCode", "Organization", "Position", "Birthday",
        "Anniversary", "Assistant", "Children", "Status", "Other", "Pets", "ReferredBy", "Salutation",
    )},
    "MobilePhoneCountryCode": 2,
    "Note": 10_000,
}

def parse_int_list(value: Any) -> list[int] | None:
    """[1, "2"] -> [1, 2]; null stays None (Spark gives null a meaning: "every day", "the MLS default hour")."""
    if value is None:
        return None
    if not isinstance(value, list):
        value = [value]
    out = [parse_int(v) for v in value]
    return [v for v in out if v is not None]


def parse_str(value: Any) -> str:
    return "" if value is None else str(value)


def parse_opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def record_id(data: dict) -> str:
    """`Id`, or the tail of `ResourceUri` (create answers and shared links may carry only the URI)."""
    ident = data.get("Id")
    if ident not in (None, ""):
        return str(ident)
    return str(data.get("ResourceUri") or "").rstrip("/").rsplit("/", 1)[-1]


def _flag(value: Any, default: bool = False) -> bool:
    parsed = parse_bool(value)
    return default if parsed is None else parsed
