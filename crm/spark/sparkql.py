"""Building SparkQL `_filter` expressions safely from user input.

SparkQL character literals are single-quoted with backslash escapes (`\\'`, `\\\\`) and are only valid with
Eq/Ne. `*` inside a character literal is a server-side wildcard (prefix, suffix, contains) and has **no escape**,
so a user's search term can never match a literal asterisk: `quote_string` refuses one unless wildcards are
wanted, and the search helpers (`contains`, `starts_with`) drop any `*` the user typed before adding their own.

    eq("DisplayName", "O'Brien")                -> DisplayName Eq 'O\\'Brien'
    any_of("Tags", ["Buyer", "Hot Lead"])       -> Tags Eq 'Buyer','Hot Lead'
    and_(contains("DisplayName", "ann"), or_(eq("Tags", "A"), eq("Tags", "B")))
        -> DisplayName Eq '*ann*' And (Tags Eq 'A' Or Tags Eq 'B')
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable
from typing import Any

MAX_LIST_VALUES = 200  # the reference parser's limit per comma list
_FIELD_RE = re.compile(r"[A-Z][A-Za-z0-9]*\Z")
_CUSTOM_FIELD_RE = re.compile(r'"[^"]+"\."[^"]+"\Z')


class Expr(str):
    """A SparkQL expression; remembers its top-level conjunction so combining adds parentheses only when needed."""

    conjunction: str | None = None

    @classmethod
    def of(cls, text: str, conjunction: str | None = None) -> Expr:
        expr = cls(text)
        expr.conjunction = conjunction
        return expr


def field_name(name: str) -> str:
    """A standard field (`[A-Z][A-Za-z0-9]*`) or a custom one (`"Group"."Field"`); anything else is refused."""
    if not isinstance(name, str) or not (_FIELD_RE.match(name) or _CUSTOM_FIELD_RE.match(name)):
        raise ValueError(f"Not a SparkQL field name: {name!r}")
    return name


def quote_string(value: str, *, wildcards: bool = False) -> str:
    """`O'Brien` -> `'O\\'Brien'`. A `*` is a wildcard to Spark and cannot be escaped: refused unless `wildcards`."""
    if not isinstance(value, str):
        raise TypeError(f"quote_string takes a str, not {type(value).__name__}")
    if not wildcards and "*" in value:
        raise ValueError("SparkQL cannot match a literal '*'; use strip_wildcards() or contains()/starts_with()")
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def strip_wildcards(term: str) -> str:
    """What the user typed, minus the `*` Spark would read as a wildcard."""
    return term.replace("*", "")


def literal(value: Any) -> str:
    """A Python value as a SparkQL literal: str (quoted, no wildcards), bool, int, float/Decimal, date, datetime,
    None (NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, decimal.Decimal)):
        number = decimal.Decimal(repr(value)) if isinstance(value, float) else value
        if not number.is_finite():
            raise ValueError(f"SparkQL has no literal for {value!r}")
        text = format(number, "f")
        return text if "." in text else text + ".0"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return quote_string(value)
    raise TypeError(f"No SparkQL literal for {type(value).__name__}")


def _compare(field: str, op: str, value: Any) -> Expr:
    return Expr.of(f"{field_name(field)} {op} {literal(value)}")


def eq(field: str, value: Any) -> Expr:
    return _compare(field, "Eq", value)


def ne(field: str, value: Any) -> Expr:
    return _compare(field, "Ne", value)


def gt(field: str, value: Any) -> Expr:
    return _compare(field, "Gt", value)


def ge(field: str, value: Any) -> Expr:
    return _compare(field, "Ge", value)


def lt(field: str, value: Any) -> Expr:
    return _compare(field, "Lt", value)


def le(field: str, value: Any) -> Expr:
    return _compare(field, "Le", value)


def between(field: str, low: Any, high: Any) -> Expr:
    if isinstance(low, str) or isinstance(high, str):
        raise TypeError("Bt takes numbers, dates or times, not character values")
    return Expr.of(f"{field_name(field)} Bt {literal(low)},{literal(high)}")


def _list(field: str, op: str, values: Iterable[Any]) -> Expr:
    items = list(values)
    if not items:
        raise ValueError(f"{op} needs at least one value")
    if len(items) > MAX_LIST_VALUES:
        raise ValueError(f"SparkQL allows at most {MAX_LIST_VALUES} values in a list")
    if any(v is None for v in items) and len(items) > 1:
        raise ValueError("NULL can only be used alone")
    return Expr.of(f"{field_name(field)} {op} {','.join(literal(v) for v in items)}")


def any_of(field: str, values: Iterable[Any]) -> Expr:
    """`Field Eq 'a','b'`: matches any of the values."""
    return _list(field, "Eq", values)


def none_of(field: str, values: Iterable[Any]) -> Expr:
    """`Field Ne 'a','b'`: matches none of the values."""
    return _list(field, "Ne", values)


def _search(field: str, term: str, pattern: str) -> Expr:
    cleaned = strip_wildcards(term).strip()
    if not cleaned:
        raise ValueError("An empty search term matches everything; leave the condition out instead")
    return Expr.of(f"{field_name(field)} Eq {quote_string(pattern.format(cleaned), wildcards=True)}")


def contains(field: str, term: str) -> Expr:
    """`Field Eq '*term*'`, the user's own `*` removed."""
    return _search(field, term, "*{}*")


def starts_with(field: str, term: str) -> Expr:
    """`Field Eq 'term*'`. On DisplayName without spaces Spark applies it to every word of the name."""
    return _search(field, term, "{}*")


def ends_with(field: str, term: str) -> Expr:
    return _search(field, term, "*{}")


def _join(conjunction: str, exprs: list[str | None]) -> Expr | None:
    present = [e for e in exprs if e]
    if not present:
        return None
    if len(present) == 1:
        only = present[0]
        return only if isinstance(only, Expr) else Expr.of(f"({only})")
    parts = []
    for e in present:
        inner = e.conjunction if isinstance(e, Expr) else "?"
        # And binds tighter than Or: only an Or inside an And needs parentheses; a plain string always gets them.
        needs = inner == "?" or (conjunction == "And" and inner == "Or")
        parts.append(f"({e})" if needs else str(e))
    return Expr.of(f" {conjunction} ".join(parts), conjunction)


def and_(*exprs: str | None) -> Expr | None:
    """All of the expressions (None/empty ones are skipped; None if nothing is left)."""
    return _join("And", list(exprs))


def or_(*exprs: str | None) -> Expr | None:
    return _join("Or", list(exprs))


def not_(expr: str) -> Expr:
    return Expr.of(f"Not ({expr})")
