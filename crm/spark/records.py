"""Typed records parsed from Spark's JSON, tolerant of the quirks the notes list:
numbers as strings, empty timestamps, booleans as strings, extra fields.

Every record is built from a cleaned copy of what Spark sent (`clean_value`): Spark's data is written by agents,
consumers (`/my/contact`) and every other client of the API, and PostgreSQL refuses some of what they can write.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
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


@dataclass
class AccountRecord:
    id: str
    name: str
    office_id: str | None = None
    office_name: str = ""
    email: str = ""
    user_type: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    mls_id: str | None = None
    mls_name: str = ""
    phone: str = ""
    emails: list[str] = field(default_factory=list)

    @classmethod
    def from_api(cls, data: dict) -> AccountRecord:
        data = clean_value(data)
        emails = [e for e in (data.get("Emails") or []) if isinstance(e, dict)] if isinstance(
            data.get("Emails"), list) else []
        phones = [p for p in (data.get("Phones") or []) if isinstance(p, dict)] if isinstance(
            data.get("Phones"), list) else []
        return cls(
            id=record_id(data),
            name=parse_str(data.get("Name")),
            office_id=parse_opt_str(data.get("OfficeId")),
            office_name=parse_str(data.get("Office") or data.get("OfficeName")),
            email=_primary(emails, "Address"),
            user_type=parse_str(data.get("UserType")),
            attributes=data,
            mls_id=parse_opt_str(data.get("MlsId")),
            mls_name=parse_str(data.get("Mls")),
            phone=_primary(phones, "Number"),
            emails=[str(e["Address"]) for e in emails if e.get("Address")],
        )


def _primary(items: list[dict], key: str) -> str:
    """The item flagged Primary (true or "true"), else the first one."""
    chosen = next((i for i in items if _flag(i.get("Primary"))), items[0] if items else None)
    return parse_str(chosen.get(key)) if chosen else ""


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


MASKED = "********"


def _unmasked(value: Any) -> Any:
    return None if value == MASKED else value


@dataclass
class ListingPhoto:
    id: str
    uri: str = ""
    uri_thumb: str = ""
    name: str = ""
    primary: bool = False

    @classmethod
    def from_api(cls, data: dict) -> ListingPhoto:
        data = clean_value(data)
        return cls(
            id=record_id(data),
            uri=parse_str(data.get("Uri640") or data.get("Uri800") or data.get("Uri300") or data.get("UriLarge")),
            uri_thumb=parse_str(data.get("UriThumb") or data.get("Uri300")),
            name=parse_str(data.get("Name")),
            primary=_flag(data.get("Primary")),
        )


@dataclass
class ListingRecord:
    """A listing: the fields the CRM shows, parsed; everything Spark sent stays in `fields` (StandardFields).
    Values the key's role may not see arrive masked ("********") and parse to None."""

    id: str
    listing_id: str = ""  # the MLS number
    list_price: float | None = None
    status: str = ""
    property_type: str = ""
    street_number: str = ""
    street_name: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    beds_total: int | None = None
    baths_total: float | None = None
    building_area_total: float | None = None
    year_built: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    public_remarks: str = ""
    list_office_name: str = ""
    modified_at: dt.datetime | None = None
    photos: list[ListingPhoto] = field(default_factory=list)
    resource_uri: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        street = " ".join(p for p in (self.street_number, self.street_name) if p)
        locality = ", ".join(p for p in (self.city, " ".join(q for q in (self.state, self.postal_code) if q)) if p)
        return ", ".join(p for p in (street, locality) if p)

    @property
    def primary_photo(self) -> ListingPhoto | None:
        return next((p for p in self.photos if p.primary), self.photos[0] if self.photos else None)

    @classmethod
    def from_api(cls, data: dict) -> ListingRecord:
        data = clean_value(data)
        sf = data.get("StandardFields") if isinstance(data.get("StandardFields"), dict) else {}

        def text(name: str) -> str:
            value = _unmasked(sf.get(name))
            return "" if value is None else str(value).strip()

        photos = sf.get("Photos") if isinstance(sf.get("Photos"), list) else data.get("Photos")
        return cls(
            id=record_id(data) or text("ListingKey"),
            listing_id=text("ListingId"),
            list_price=parse_float(_unmasked(sf.get("ListPrice"))),
            status=text("MlsStatus") or text("StandardStatus"),
            property_type=text("PropertyType"),
            street_number=text("StreetNumber"),
            street_name=text("StreetName"),
            city=text("City"),
            state=text("StateOrProvince"),
            postal_code=text("PostalCode"),
            beds_total=parse_int(_unmasked(sf.get("BedsTotal"))),
            baths_total=parse_float(_unmasked(sf.get("BathsTotal"))),
            building_area_total=parse_float(_unmasked(sf.get("BuildingAreaTotal"))),
            year_built=parse_int(_unmasked(sf.get("YearBuilt"))),
            latitude=parse_float(_unmasked(sf.get("Latitude"))),
            longitude=parse_float(_unmasked(sf.get("Longitude"))),
            public_remarks=text("PublicRemarks"),
            list_office_name=text("ListOfficeName"),
            modified_at=parse_timestamp(sf.get("ModificationTimestamp")),
            photos=[ListingPhoto.from_api(p) for p in photos if isinstance(p, dict)] if isinstance(
                photos, list) else [],
            resource_uri=parse_str(data.get("ResourceUri")),
            fields=sf,
        )


@dataclass
class SharedLinkRecord:
    id: str
    shared_uri: str = ""
    type: str = ""  # Direct | Indirect
    mode: str = ""  # Idx | Public | Vow
    contact_ids: list[str] = field(default_factory=list)
    listing_ids: list[str] = field(default_factory=list)
    saved_search_id: str | None = None
    saved_search: SavedSearchRecord | None = None
    created_at: dt.datetime | None = None
    resource_uri: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: dict) -> SharedLinkRecord:
        data = clean_value(data)
        search = data.get("SavedSearch")
        search_rec = SavedSearchRecord.from_api(search) if isinstance(search, dict) else None
        return cls(
            id=record_id(data),
            shared_uri=parse_str(data.get("SharedUri")),
            type=parse_str(data.get("Type")),
            mode=parse_str(data.get("Mode")),
            contact_ids=parse_str_list(data.get("ContactIds")),
            listing_ids=parse_str_list(data.get("ListingIds")),
            saved_search_id=(search_rec.id if search_rec else None) or parse_opt_str(data.get("SearchId")),
            saved_search=search_rec,
            created_at=parse_timestamp(data.get("CreatedTimestamp")),
            resource_uri=parse_str(data.get("ResourceUri")),
            attributes=data,
        )
