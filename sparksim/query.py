"""Standard search, paging, selection and expansion parameters (spark-api-notes §4–5)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .envelope import constraint

MAX_LIMIT = 25
DEFAULT_LIMIT = 10
MAX_PAGE = 100_000


@dataclass
class Paging:
    limit: int
    page: int
    pagination: str  # "0", "1" or "count"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    @property
    def wants_total(self) -> bool:
        return self.pagination in ("1", "count")


def _int_param(args: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise constraint(f"{name} must be an integer between {lo} and {hi}", name, "Integer", raw) from None
    if not lo <= value <= hi:
        raise constraint(f"{name} must be between {lo} and {hi}", name, "Range", value)
    return value


def paging(args: Mapping[str, str]) -> Paging:
    limit = _int_param(args, "_limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = _int_param(args, "_page", 1, 1, MAX_PAGE)
    pagination = (args.get("_pagination") or "0").strip().lower()
    if pagination not in ("0", "1", "count"):
        raise constraint("_pagination must be 0, 1 or count", "_pagination", "Enumeration", pagination)
    return Paging(limit, page, pagination)


def pagination_block(p: Paging, total: int) -> dict[str, int]:
    return {"TotalRows": total, "PageSize": p.limit, "TotalPages": (total + p.limit - 1) // p.limit,
            "CurrentPage": p.page}


def page_of(rows: Sequence[Any], p: Paging) -> tuple[list[Any], dict[str, int] | None]:
    """Slice an already materialised, ordered list."""
    pag = pagination_block(p, len(rows)) if p.wants_total else None
    if p.pagination == "count":
        return [], pag
    return list(rows[p.offset:p.offset + p.limit]), pag


def scan_page(rows: Iterable[Any], pred: Callable[[Any], bool] | None, p: Paging) -> list[Any]:
    """The page without counting the total: stop as soon as the page is full."""
    out: list[Any] = []
    skip = p.offset
    for r in rows:
        if pred is not None and not pred(r):
            continue
        if skip:
            skip -= 1
            continue
        out.append(r)
        if len(out) == p.limit:
            break
    return out


def csv_param(args: Mapping[str, str], name: str) -> list[str]:
    raw = args.get(name) or ""
    return [part.strip() for part in raw.split(",") if part.strip()]


def orderby(args: Mapping[str, str], allowed: Iterable[str]) -> list[tuple[str, bool]]:
    """`_orderby=-Score,DisplayName` -> [("Score", True), ("DisplayName", False)]; unknown fields are 400/1053."""
    allowed = set(allowed)
    out = []
    for part in csv_param(args, "_orderby"):
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in allowed:
            raise constraint(f"_orderby: {name!r} is not a sortable field", "_orderby", "Sortable", part)
        out.append((name, desc))
    return out


def select(args: Mapping[str, str], allowed: Iterable[str]) -> list[str] | None:
    fields = csv_param(args, "_select")
    if not fields:
        return None
    allowed = set(allowed)
    for f in fields:
        if f not in allowed:
            raise constraint(f"_select: {f!r} is not an attribute of this resource", "_select", "Attribute", f)
    return fields


def expand(args: Mapping[str, str], allowed: Iterable[str]) -> list[str]:
    wanted = csv_param(args, "_expand")
    allowed = set(allowed)
    for e in wanted:
        if e not in allowed:
            raise constraint(f"_expand: {e!r} is not an expansion of this resource", "_expand", "Expansion", e)
    return wanted
