"""Contact activity: the summary counts, the 30-day score series (the Activity expansion on one contact), and the
listings a contact viewed or was shared (Contacts: Activity page)."""

from __future__ import annotations

from collections.abc import Iterable

from crm.spark.paging import MAX_PAGE_SIZE, Page
from crm.spark.records import ActivityRecord, ContactRecord, DailyActivity, ListingRecord
from crm.spark.resources._common import get_one, get_page, query, seg


def activity_summary(client, contact_id: str) -> ActivityRecord:
    """E-mails sent/opened, listings viewed/shared (GET /contacts/<Id>/activity)."""
    return get_one(client, f"/contacts/{seg(contact_id)}/activity", ActivityRecord.from_api)


def activity_scores(client, contact_id: str) -> ContactRecord:
    """The contact with its Activity expansion: `score`, `relative_score` and the 30-day `daily_activity`.

    DailyActivity is only given on a single-record fetch, so this is a GET of the one contact."""
    return get_one(client, f"/contacts/{seg(contact_id)}", ContactRecord.from_api, params=query(expand="Activity"))


def activity_series(client, contact_id: str) -> list[DailyActivity]:
    """The contact's score for each of the last 30 days, oldest first."""
    return activity_scores(client, contact_id).daily_activity


def _listings(client, contact_id: str, which: str, page: int, limit: int, select, expand) -> Page[ListingRecord]:
    return get_page(client, f"/contacts/{seg(contact_id)}/activity/listings/{which}", ListingRecord.from_api,
                    page=page, limit=limit, params=query(select=select, expand=expand))


def listings_viewed(client, contact_id: str, *, page: int = 1, limit: int = MAX_PAGE_SIZE,
                    select: str | Iterable[str] | None = None,
                    expand: str | Iterable[str] | None = None) -> Page[ListingRecord]:
    return _listings(client, contact_id, "viewed", page, limit, select, expand)


def listings_shared(client, contact_id: str, *, page: int = 1, limit: int = MAX_PAGE_SIZE,
                    select: str | Iterable[str] | None = None,
                    expand: str | Iterable[str] | None = None) -> Page[ListingRecord]:
    return _listings(client, contact_id, "shared", page, limit, select, expand)
