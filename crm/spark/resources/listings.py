"""Listings: search and get."""

from __future__ import annotations

from collections.abc import Iterable

from crm.spark.paging import MAX_PAGE_SIZE, Page
from crm.spark.records import ListingRecord
from crm.spark.resources._common import get_one, get_page, query, seg
from crm.spark.sparkql import any_of

Strs = str | Iterable[str] | None
SCOPES = {"all": "/listings", "my": "/my/listings", "office": "/office/listings", "company": "/company/listings"}


def listing_search(client, *, filter: str | None = None, orderby: Strs = None, select: Strs = None,
                   expand: Strs = None, page: int = 1, limit: int = MAX_PAGE_SIZE,
                   scope: str = "all") -> Page[ListingRecord]:
    """Search listings with SparkQL (`crm.spark.sparkql`). `scope`: all, my, office or company listings."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    return get_page(client, SCOPES[scope], ListingRecord.from_api, page=page, limit=limit,
                    params=query(filter=filter, orderby=orderby, select=select, expand=expand))


def listing_get(client, listing_id: str, *, expand: Strs = None, select: Strs = None) -> ListingRecord:
    """One listing by its Id (ListingKey); heavy expansions (Photos, Documents…) are only allowed here."""
    return get_one(client, f"/listings/{seg(listing_id)}", ListingRecord.from_api,
                   params=query(expand=expand, select=select))


def listings_by_mls_number(client, mls_numbers: Iterable[str], *, select: Strs = None) -> list[ListingRecord]:
    """Listings by their MLS numbers (`ListingId Eq 'a','b'`), up to 25 at a time."""
    numbers = list(mls_numbers)
    if not numbers:
        return []
    if len(numbers) > MAX_PAGE_SIZE:
        raise ValueError(f"At most {MAX_PAGE_SIZE} MLS numbers per call")
    return listing_search(client, filter=any_of("ListingId", numbers), select=select, limit=MAX_PAGE_SIZE).items
