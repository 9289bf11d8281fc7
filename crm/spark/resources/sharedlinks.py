"""Shared links: permalinks to listings or a saved search (Shared Links page)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm.spark.paging import MAX_PAGE_SIZE, Page
from crm.spark.records import SharedLinkRecord
from crm.spark.resources._common import get_one, get_page, query, seg

MAX_LISTINGS = 200
TYPES = ("Direct", "Indirect")
MODES = ("Idx", "Public", "Vow")


def _options(contact_ids: Iterable[str] | None, type: str | None, mode: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if contact_ids:
        out["ContactIds"] = [str(c) for c in contact_ids]
    if type is not None:
        if type not in TYPES:
            raise ValueError(f"type must be one of {', '.join(TYPES)}")
        out["Type"] = type
    if mode is not None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        out["Mode"] = mode
    return out


def shared_link_create_for_listings(client, listing_ids: Iterable[str], *, contact_ids: Iterable[str] | None = None,
                                    type: str | None = None, mode: str | None = None) -> str:
    """A link to up to 200 listings; returns its Id (a short code such as "YUNO").

    With `contact_ids` (private roles) the listings are also added to each contact's Recommended cart.
    `type` Direct (a named recipient; always Public mode) or Indirect (default); `mode` Idx, Public or Vow."""
    ids = [str(i) for i in listing_ids]
    if not ids:
        raise ValueError("At least one listing is needed")
    if len(ids) > MAX_LISTINGS:
        raise ValueError(f"A shared link holds at most {MAX_LISTINGS} listings")
    data = {"ListingIds": ids, **_options(contact_ids, type, mode)}
    return client.request("POST", "/sharedlinks/listings", data=data).created_id()


def shared_link_create_for_search(client, search_id: str, *, contact_ids: Iterable[str] | None = None,
                                  type: str | None = None, mode: str | None = None) -> str:
    """A link to a saved search's results; returns its Id."""
    if not search_id:
        raise ValueError("search_id is required")
    data = {"SearchId": str(search_id), **_options(contact_ids, type, mode)}
    return client.request("POST", "/sharedlinks/search", data=data).created_id()


def shared_link_list(client, *, page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[SharedLinkRecord]:
    """Every link the user can see, by creation time (private roles only)."""
    return get_page(client, "/sharedlinks", SharedLinkRecord.from_api, page=page, limit=limit)


def shared_link_get(client, link_id: str, *, expand: str | Iterable[str] | None = None) -> SharedLinkRecord:
    """`expand="Contacts"` adds the contacts of ContactIds (private roles)."""
    return get_one(client, f"/sharedlinks/{seg(link_id)}", SharedLinkRecord.from_api, params=query(expand=expand))
