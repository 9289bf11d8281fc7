"""Contacts as Spark sends them: the record, its tags and its activity."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .parse import clean_value, parse_date, parse_float, parse_int, parse_str, parse_str_list, parse_timestamp

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
        data = clean_value(data)
        activity = data.get("Activity") if isinstance(data.get("Activity"), dict) else {}
        daily = []
        series = activity.get("DailyActivity") or data.get("DailyActivity") or []
        for item in series if isinstance(series, list) else []:
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
class TagRecord:
    tag: str
    resource_uri: str = ""

    @classmethod
    def from_api(cls, data: dict | str) -> TagRecord:
        data = clean_value(data)
        if isinstance(data, str):
            return cls(tag=data)
        tag = data.get("Tag") or data.get("Name") or str(data.get("ResourceUri") or "").rsplit("/", 1)[-1]
        return cls(tag=str(tag), resource_uri=parse_str(data.get("ResourceUri")))


@dataclass
class ActivityRecord:
    """A contact's activity summary (GET /contacts/<Id>/activity)."""

    manual_emails_opened: int = 0
    manual_emails_sent: int = 0
    subscription_emails_opened: int = 0
    subscription_emails_sent: int = 0
    listings_viewed: int = 0
    listings_shared: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> ActivityRecord:
        data = clean_value(data)

        def n(name: str) -> int:
            return parse_int(data.get(name)) or 0

        return cls(
            manual_emails_opened=n("ManualEmailsOpened"),
            manual_emails_sent=n("ManualEmailsSent"),
            subscription_emails_opened=n("SubscriptionEmailsOpened"),
            subscription_emails_sent=n("SubscriptionEmailsSent"),
            listings_viewed=n("ListingsViewed"),
            listings_shared=n("ListingsShared"),
            attributes=data,
        )
