"""Helpers shared by the resource modules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from crm.spark.errors import SparkNotFound
from crm.spark.paging import MAX_PAGE_SIZE, Page, iter_records, page_params

T = TypeVar("T")


def seg(value: str) -> str:
    """One path segment, fully escaped (`/` included), so user data cannot step into another resource."""
    text = str(value)
    if not text or text in (".", ".."):
        raise ValueError(f"Not a usable id or name in a Spark path: {value!r}")
    return quote(text, safe="")


def csv(value: str | Iterable[str] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    joined = ",".join(str(v) for v in value)
    return joined or None


def query(*, filter: str | None = None, orderby: str | Iterable[str] | None = None,
          select: str | Iterable[str] | None = None, expand: str | Iterable[str] | None = None,
          extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if filter:
        params["_filter"] = str(filter)
    for name, value in (("_orderby", orderby), ("_select", select), ("_expand", expand)):
        joined = csv(value)
        if joined:
            params[name] = joined
    params.update({k: v for k, v in (extra or {}).items() if v is not None})
    return params


def get_page(client, path: str, parse: Callable[[dict], T], *, page: int = 1, limit: int = MAX_PAGE_SIZE,
             params: Mapping[str, Any] | None = None) -> Page[T]:
    resp = client.request("GET", path, params={**(params or {}), **page_params(page, limit)})
    return Page.from_response(resp, parse, page=page, page_size=limit)


def iter_parsed(client, path: str, parse: Callable[[dict], T], *, params: Mapping[str, Any] | None = None,
                page_size: int = MAX_PAGE_SIZE) -> Iterator[T]:
    for record in iter_records(client, path, params=params, page_size=page_size):
        if isinstance(record, dict):
            yield parse(record)


def get_one(client, path: str, parse: Callable[[dict], T], *, params: Mapping[str, Any] | None = None) -> T:
    resp = client.request("GET", path, params=params)
    first = next((r for r in resp.results if isinstance(r, dict)), None)
    if first is None:
        raise SparkNotFound(f"Spark returned no record for {path}", status=resp.status, request_id=resp.request_id)
    return parse(first)


def get_all(client, path: str, parse: Callable[[dict], T], *, params: Mapping[str, Any] | None = None) -> list[T]:
    """An unpaged collection (schedules, tags): every result of one GET."""
    resp = client.request("GET", path, params=params)
    return [parse(r) for r in resp.results if isinstance(r, dict)]


def created_id_or_none(resp) -> str | None:
    """Some creates answer with the plain success envelope (no Results): then there is no Id to give back."""
    if not resp.results:
        return None
    return resp.created_id()
