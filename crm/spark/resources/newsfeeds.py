"""News feeds and their notification schedules (News Feed, News Feed: Schedule pages).

Lists, creates and every schedule function take `contact_id`: None addresses the agent's own `/newsfeeds/...`;
a contact id addresses `/contacts/<Id>/newsfeeds/...` (the same resources, managed for that contact). A single
feed is always `/newsfeeds/<Id>`.

Two kinds of schedule: the *default* schedule (`/newsfeeds/schedule[/<Id>]`) applies to every active feed without
a schedule of its own; a *feed* schedule (`/newsfeeds/<FeedId>/schedule[/<Id>]`) overrides it for one feed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crm.spark.paging import MAX_PAGE_SIZE, Page
from crm.spark.records import NewsFeedRecord, ScheduleRecord
from crm.spark.resources._common import created_id_or_none, get_all, get_one, get_page, query, seg

FREQUENCIES = ("Instant", "Scheduled")
DAYS_OF_WEEK = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _base(contact_id: str | None) -> str:
    return f"/contacts/{seg(contact_id)}/newsfeeds" if contact_id else "/newsfeeds"


# ---- news feeds ----------------------------------------------------------------------------------------------------

def newsfeed_list(client, *, contact_id: str | None = None, filter: str | None = None,
                  expand: str | Iterable[str] | None = None, page: int = 1,
                  limit: int = MAX_PAGE_SIZE) -> Page[NewsFeedRecord]:
    return get_page(client, _base(contact_id), NewsFeedRecord.from_api, page=page, limit=limit,
                    params=query(filter=filter, expand=expand))


def newsfeed_get(client, newsfeed_id: str, *, expand: str | Iterable[str] | None = None) -> NewsFeedRecord:
    """A feed is addressed by its Id alone (`/newsfeeds/<Id>`), also one that belongs to a contact."""
    return get_one(client, f"/newsfeeds/{seg(newsfeed_id)}", NewsFeedRecord.from_api, params=query(expand=expand))


def newsfeed_create(client, attrs: Mapping[str, Any], *, contact_id: str | None = None) -> str | None:
    """Subscribe to a saved search (attrs: Name, Subscription {"Id": <SavedSearch.Id>}, NotificationsActive). Spark creates
    an Instant schedule when the user has none and notifications are on. Returns the new Id when Spark gives one."""
    return created_id_or_none(client.request("POST", _base(contact_id), data=dict(attrs)))


def newsfeed_update(client, newsfeed_id: str, changed_attrs: Mapping[str, Any]) -> None:
    """PUT only the changed attributes, e.g. {"Active": False}."""
    if changed_attrs:
        client.request("PUT", f"/newsfeeds/{seg(newsfeed_id)}", data=dict(changed_attrs))


def newsfeed_delete(client, newsfeed_id: str) -> None:
    client.request("DELETE", f"/newsfeeds/{seg(newsfeed_id)}")


def newsfeed_meta(client) -> dict[str, Any]:
    """Events and subscription criteria (`/newsfeeds/meta`), raw."""
    resp = client.request("GET", "/newsfeeds/meta")
    return resp.results[0] if resp.results and isinstance(resp.results[0], dict) else {}


# ---- schedules -----------------------------------------------------------------------------------------------------

def schedule_attrs(*, frequency: str | None = None, hours_of_day: Iterable[int] | None = None,
                   days_of_week: Iterable[str] | None = None, days_of_month: Iterable[int] | None = None,
                   webhook_id: str | None = None) -> dict[str, Any]:
    """A schedule body from checked values (Spark infers Frequency from the lists when it is left out)."""
    out: dict[str, Any] = {}
    if frequency is not None:
        if frequency not in FREQUENCIES:
            raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
        out["Frequency"] = frequency
    if hours_of_day is not None:
        hours = [int(h) for h in hours_of_day]
        if any(not 0 <= h <= 23 for h in hours):
            raise ValueError("hours_of_day are 0-23")
        out["HoursOfDay"] = hours
    if days_of_week is not None:
        days = list(days_of_week)
        if any(d not in DAYS_OF_WEEK for d in days):
            raise ValueError(f"days_of_week are {', '.join(DAYS_OF_WEEK)}")
        out["DaysOfWeek"] = days
    if days_of_month is not None:
        dom = [int(d) for d in days_of_month]
        if any(not 1 <= d <= 31 for d in dom):
            raise ValueError("days_of_month are 1-31")
        out["DaysOfMonth"] = dom
    if webhook_id is not None:
        out["WebhookId"] = webhook_id
    return out


def _default_path(contact_id: str | None, schedule_id: str | None = None) -> str:
    path = f"{_base(contact_id)}/schedule"
    return f"{path}/{seg(schedule_id)}" if schedule_id else path


def _feed_path(newsfeed_id: str, contact_id: str | None, schedule_id: str | None = None) -> str:
    path = f"{_base(contact_id)}/{seg(newsfeed_id)}/schedule"
    return f"{path}/{seg(schedule_id)}" if schedule_id else path


def default_schedule_list(client, *, contact_id: str | None = None) -> list[ScheduleRecord]:
    """The default schedule entries (Spark currently keeps at most one)."""
    return get_all(client, _default_path(contact_id), ScheduleRecord.from_api)


def default_schedule_get(client, schedule_id: str, *, contact_id: str | None = None) -> ScheduleRecord:
    return get_one(client, _default_path(contact_id, schedule_id), ScheduleRecord.from_api)


def default_schedule_create(client, attrs: Mapping[str, Any], *, contact_id: str | None = None) -> str | None:
    return created_id_or_none(client.request("POST", _default_path(contact_id), data=dict(attrs)))


def default_schedule_update(client, schedule_id: str, changed_attrs: Mapping[str, Any], *,
                            contact_id: str | None = None) -> None:
    client.request("PUT", _default_path(contact_id, schedule_id), data=dict(changed_attrs))


def default_schedule_delete(client, schedule_id: str, *, contact_id: str | None = None) -> None:
    client.request("DELETE", _default_path(contact_id, schedule_id))


def default_schedules_delete_all(client, *, contact_id: str | None = None) -> None:
    client.request("DELETE", _default_path(contact_id))


def feed_schedule_list(client, newsfeed_id: str, *, contact_id: str | None = None) -> list[ScheduleRecord]:
    """The feed's own schedule (Spark allows one per feed); empty when the default schedule applies."""
    return get_all(client, _feed_path(newsfeed_id, contact_id), ScheduleRecord.from_api)


def feed_schedule_get(client, newsfeed_id: str, schedule_id: str, *, contact_id: str | None = None) -> ScheduleRecord:
    return get_one(client, _feed_path(newsfeed_id, contact_id, schedule_id), ScheduleRecord.from_api)


def feed_schedule_create(client, newsfeed_id: str, attrs: Mapping[str, Any], *,
                         contact_id: str | None = None) -> str | None:
    return created_id_or_none(client.request("POST", _feed_path(newsfeed_id, contact_id), data=dict(attrs)))


def feed_schedule_update(client, newsfeed_id: str, schedule_id: str, changed_attrs: Mapping[str, Any], *,
                         contact_id: str | None = None) -> None:
    client.request("PUT", _feed_path(newsfeed_id, contact_id, schedule_id), data=dict(changed_attrs))


def feed_schedule_delete(client, newsfeed_id: str, schedule_id: str, *, contact_id: str | None = None) -> None:
    client.request("DELETE", _feed_path(newsfeed_id, contact_id, schedule_id))


def feed_schedules_delete_all(client, newsfeed_id: str, *, contact_id: str | None = None) -> None:
    client.request("DELETE", _feed_path(newsfeed_id, contact_id))
