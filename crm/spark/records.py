"""Typed records parsed from Spark's JSON, tolerant of the quirks the notes list:
numbers as strings, empty timestamps, booleans as strings, extra fields."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


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
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
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
CONTACT_LIST_FIELDS = ("SecondaryEmails", "AdditionalNotificationEmails", "Tags")
TAG_MAX_LENGTH = 75


@dataclass
class DailyActivity:
    date: dt.date | None
    score: int | None
    relative_score: float | None


@dataclass
class ContactRecord:
    id: str
    display_name: str
    primary_email: str = ""
    primary_phone: str = ""
    tags: list[str] = field(default_factory=list)
    record_status: str = "Connected"
    owner_id: str | None = None
    modified_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    score: int | None = None
    relative_score: float | None = None
    daily_activity: list[DailyActivity] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> ContactRecord:
        activity = data.get("Activity") if isinstance(data.get("Activity"), dict) else {}
        daily = []
        for i, item in enumerate(activity.get("DailyActivity") or []):
            if isinstance(item, dict):
                daily.append(DailyActivity(
                    date=parse_date(item.get("Date")),
                    score=parse_int(item.get("Score")),
                    relative_score=parse_float(item.get("RelativeScore")),
                ))
        attributes = {k: v for k, v in data.items() if k not in ("Activity",)}
        return cls(
            id=str(data.get("Id") or str(data.get("ResourceUri", "")).rsplit("/", 1)[-1]),
            display_name=str(data.get("DisplayName") or ""),
            primary_email=str(data.get("PrimaryEmail") or ""),
            primary_phone=str(data.get("PrimaryPhoneNumber") or data.get("MobilePhoneNumber") or ""),
            tags=parse_str_list(data.get("Tags")),
            record_status=str(data.get("RecordStatus") or "Connected"),
            owner_id=str(data["OwnerId"]) if data.get("OwnerId") else None,
            modified_at=parse_timestamp(data.get("ModificationTimestamp")),
            created_at=parse_timestamp(data.get("CreatedTimestamp")),
            score=parse_int(activity.get("Score")),
            relative_score=parse_float(activity.get("RelativeScore")),
            daily_activity=daily,
            attributes=attributes,
        )


@dataclass
class AccountRecord:
    id: str
    name: str
    office_id: str | None = None
    office_name: str = ""
    email: str = ""
    user_type: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> AccountRecord:
        emails = data.get("Emails") or []
        email = ""
        if isinstance(emails, list) and emails and isinstance(emails[0], dict):
            email = str(emails[0].get("Address") or "")
        return cls(
            id=str(data.get("Id") or ""),
            name=str(data.get("Name") or ""),
            office_id=str(data["OfficeId"]) if data.get("OfficeId") else None,
            office_name=str(data.get("Office") or data.get("OfficeName") or ""),
            email=email,
            user_type=str(data.get("UserType") or ""),
            attributes=data,
        )
