"""News feeds, their subscriptions and schedules, and saved searches."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .parse import (
    _flag,
    clean_value,
    parse_bool,
    parse_date,
    parse_int_list,
    parse_opt_str,
    parse_str,
    parse_str_list,
    parse_timestamp,
    record_id,
)


@dataclass
class SubscriptionRecord:
    """What a news feed follows (a saved search)."""

    id: str
    name: str = ""
    description: str = ""
    filter: str = ""
    owner_id: str | None = None
    modified_at: dt.datetime | None = None
    resource_uri: str = ""

    @classmethod
    def from_api(cls, data: dict) -> SubscriptionRecord:
        data = clean_value(data)
        return cls(
            id=record_id(data),
            name=parse_str(data.get("Name")),
            description=parse_str(data.get("Description")),
            filter=parse_str(data.get("Filter")),
            owner_id=parse_opt_str(data.get("OwnerId")),
            modified_at=parse_timestamp(data.get("ModificationTimestamp")),
            resource_uri=parse_str(data.get("ResourceUri")),
        )


@dataclass
class NewsFeedRecord:
    id: str
    name: str = ""
    active: bool = False
    notifications_active: bool = False
    curated: bool = False
    type: str = ""
    notification_methods: list[str] = field(default_factory=list)
    owner_id: str | None = None
    created_at: dt.datetime | None = None
    modified_at: dt.datetime | None = None
    last_event_at: dt.datetime | None = None
    expires_on: dt.date | None = None
    subscription: SubscriptionRecord | None = None
    resource_uri: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> NewsFeedRecord:
        data = clean_value(data)
        sub = data.get("Subscription")
        return cls(
            id=record_id(data),
            name=parse_str(data.get("Name")),
            active=_flag(data.get("Active")),
            notifications_active=_flag(data.get("NotificationsActive")),
            curated=_flag(data.get("Curated")),
            type=parse_str(data.get("Type")),
            notification_methods=parse_str_list(data.get("NotificationMethods")),
            owner_id=parse_opt_str(data.get("OwnerId")),
            created_at=parse_timestamp(data.get("CreatedTimestamp")),
            modified_at=parse_timestamp(data.get("ModificationTimestamp")),
            last_event_at=parse_timestamp(data.get("LastEventTimestamp")),
            expires_on=parse_date(data.get("ExpirationDate")),
            subscription=SubscriptionRecord.from_api(sub) if isinstance(sub, dict) else None,
            resource_uri=parse_str(data.get("ResourceUri")),
            attributes=data,
        )


@dataclass
class ScheduleRecord:
    """A news-feed notification schedule: the default one (`newsfeed_id` None) or one feed's own."""

    id: str
    frequency: str = ""
    newsfeed_id: str | None = None
    hours_of_day: list[int] | None = None
    days_of_week: list[str] | None = None
    days_of_month: list[int] | None = None
    webhook_id: str | None = None
    created_at: dt.datetime | None = None
    resource_uri: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        return self.newsfeed_id is None

    @classmethod
    def from_api(cls, data: dict) -> ScheduleRecord:
        data = clean_value(data)
        days = data.get("DaysOfWeek")
        return cls(
            id=record_id(data),
            frequency=parse_str(data.get("Frequency")),
            newsfeed_id=parse_opt_str(data.get("NewsfeedId") or data.get("NewsFeedId")),
            hours_of_day=parse_int_list(data.get("HoursOfDay")),
            days_of_week=None if days is None else parse_str_list(days),
            days_of_month=parse_int_list(data.get("DaysOfMonth")),
            webhook_id=parse_opt_str(data.get("WebhookId")),
            created_at=parse_timestamp(data.get("CreatedTimestamp")),
            resource_uri=parse_str(data.get("ResourceUri")),
            attributes=data,
        )


@dataclass
class SavedSearchRecord:
    id: str
    name: str = ""
    filter: str = ""
    description: str = ""
    contact_ids: list[str] = field(default_factory=list)
    provided: bool = False
    tags: list[str] = field(default_factory=list)
    owner_id: str | None = None
    modified_at: dt.datetime | None = None
    active_subscription: bool | None = None  # with _expand=NewsFeedSubscriptionSummary
    news_feeds: list[NewsFeedRecord] = field(default_factory=list)  # with _expand=NewsFeeds
    resource_uri: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> SavedSearchRecord:
        data = clean_value(data)
        summary = data.get("NewsFeedSubscriptionSummary")
        feeds = data.get("NewsFeeds")
        return cls(
            id=record_id(data),
            name=parse_str(data.get("Name")),
            filter=parse_str(data.get("Filter")),
            description=parse_str(data.get("Description")),
            contact_ids=parse_str_list(data.get("ContactIds")),
            provided=_flag(data.get("Provided")),
            tags=parse_str_list(data.get("Tags")),
            owner_id=parse_opt_str(data.get("OwnerId")),
            modified_at=parse_timestamp(data.get("ModificationTimestamp")),
            active_subscription=parse_bool(summary.get("ActiveSubscription")) if isinstance(summary, dict) else None,
            news_feeds=[NewsFeedRecord.from_api(f) for f in feeds if isinstance(f, dict)] if isinstance(
                feeds, list) else [],
            resource_uri=parse_str(data.get("ResourceUri")),
            attributes=data,
        )
