"""Saved searches: CRUD, the searches provided to a contact, attaching contacts, and the listings they match."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crm.spark.paging import MAX_PAGE_SIZE, Page
from crm.spark.records import ListingRecord, SavedSearchRecord
from crm.spark.resources._common import get_one, get_page, query, seg
from crm.spark.sparkql import eq

Strs = str | Iterable[str] | None


def saved_search_list(client, *, filter: str | None = None, orderby: Strs = None, expand: Strs = None,
                      page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[SavedSearchRecord]:
    """`expand` may hold NewsFeeds and NewsFeedSubscriptionSummary."""
    return get_page(client, "/savedsearches", SavedSearchRecord.from_api, page=page, limit=limit,
                    params=query(filter=filter, orderby=orderby, expand=expand))


def provided_saved_search_list(client, *, page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[SavedSearchRecord]:
    return get_page(client, "/provided/savedsearches", SavedSearchRecord.from_api, page=page, limit=limit)


def contact_saved_search_list(client, contact_id: str, *, page: int = 1,
                              limit: int = MAX_PAGE_SIZE) -> Page[SavedSearchRecord]:
    return get_page(client, f"/contacts/{seg(contact_id)}/savedsearches", SavedSearchRecord.from_api, page=page,
                    limit=limit)


def saved_search_get(client, search_id: str, *, expand: Strs = None) -> SavedSearchRecord:
    return get_one(client, f"/savedsearches/{seg(search_id)}", SavedSearchRecord.from_api,
                   params=query(expand=expand))


def saved_search_create(client, attrs: Mapping[str, Any]) -> str:
    """attrs: Name (required), Filter (SparkQL), Description, ContactIds… Returns the new Id."""
    return client.request("POST", "/savedsearches", data={"SavedSearches": [dict(attrs)]}).created_id()


def saved_search_update(client, search_id: str, changed_attrs: Mapping[str, Any]) -> None:
    if changed_attrs:
        client.request("PUT", f"/savedsearches/{seg(search_id)}", data=dict(changed_attrs))


def saved_search_delete(client, search_id: str) -> None:
    client.request("DELETE", f"/savedsearches/{seg(search_id)}")


def saved_search_contact_add(client, search_id: str, contact_id: str) -> None:
    client.request("PUT", f"/savedsearches/{seg(search_id)}/contacts/{seg(contact_id)}")


def saved_search_contact_remove(client, search_id: str, contact_id: str) -> None:
    client.request("DELETE", f"/savedsearches/{seg(search_id)}/contacts/{seg(contact_id)}")


def saved_search_listings(client, search_id: str, *, provided: bool = False, orderby: Strs = None,
                          select: Strs = None, page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[ListingRecord]:
    """The listings the search matches now (`_filter=SavedSearch Eq '<Id>'`; permissive mode for provided ones)."""
    extra = {"RequestMode": "permissive"} if provided else None
    return get_page(client, "/listings", ListingRecord.from_api, page=page, limit=limit,
                    params=query(filter=eq("SavedSearch", search_id), orderby=orderby, select=select, extra=extra))
