"""Lazy iteration over Spark's paged collections (`_limit` ≤ 25, `_page`, `_pagination=1`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

MAX_PAGE_SIZE = 25


def iter_records(
    client, path: str, *, params: Mapping[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE, start_page: int = 1
) -> Iterator[dict]:
    """Yield every record of a collection, fetching one page at a time, only as far as the caller reads."""
    for _page, records, _pagination in iter_pages(client, path, params=params, page_size=page_size, start_page=start_page):
        yield from records


def iter_pages(
    client, path: str, *, params: Mapping[str, Any] | None = None, page_size: int = MAX_PAGE_SIZE, start_page: int = 1
) -> Iterator[tuple[int, list[dict], dict]]:
    """Yield (page number, records, Pagination) until the last page."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    page = start_page
    while True:
        query = {**(params or {}), "_limit": page_size, "_page": page, "_pagination": 1}
        resp = client.request("GET", path, params=query)
        pagination = resp.pagination or {}
        yield page, resp.results, pagination
        total_pages = int(pagination.get("TotalPages") or 0)
        if not resp.results or page >= total_pages:
            return
        page += 1
