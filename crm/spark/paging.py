"""Lazy iteration over Spark's paged collections (`_limit` ≤ 25, `_page`, `_pagination=1`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

MAX_PAGE_SIZE = 25

T = TypeVar("T")


def _int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass
class Page(Generic[T]):
    """One page of a collection, parsed. `total_rows`/`total_pages` are None when Spark gave no Pagination."""

    items: list[T] = field(default_factory=list)
    page: int = 1
    page_size: int = MAX_PAGE_SIZE
    total_rows: int | None = None
    total_pages: int | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def has_next(self) -> bool:
        if self.total_pages is not None:
            return self.page < self.total_pages
        return len(self.items) >= self.page_size

    @classmethod
    def from_response(cls, resp, parse: Callable[[dict], T], *, page: int, page_size: int) -> Page[T]:
        pagination = resp.pagination if isinstance(resp.pagination, dict) else {}
        return cls(
            items=[parse(r) for r in resp.results if isinstance(r, dict)],
            page=_int(pagination.get("CurrentPage"), page) or page,
            page_size=_int(pagination.get("PageSize"), page_size) or page_size,
            total_rows=_int(pagination.get("TotalRows")),
            total_pages=_int(pagination.get("TotalPages")),
        )


def page_params(page: int, limit: int) -> dict[str, Any]:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if page < 1:
        raise ValueError("page starts at 1")
    return {"_limit": limit, "_page": page, "_pagination": 1}


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
        total_pages = _int(pagination.get("TotalPages"), 0) or 0
        if not resp.results or page >= total_pages:
            return
        page += 1
