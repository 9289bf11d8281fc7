"""SparkQL `_filter`: tokenizer, parser and compiler to Python predicates.

Grammar per spark-api-notes §5 (the reference `sparkql` gem): `Field Op Value[,Value…]`, `Field Bt low,high`,
`And`/`Or`/`Not` with SQL precedence (And binds tighter), parentheses, keywords case-insensitive, field names
`[A-Z][A-Za-z0-9]*`. Character literals `'…'` (with `\\'`) are only valid with Eq/Ne, as in the reference parser,
so timestamps take an unquoted datetime literal: `ModificationTimestamp Gt 2025-01-01T09:00:00-05:00`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .ids import MLS_TZ

MAX_EXPRESSIONS = 75
MAX_LIST_VALUES = 200
MAX_DEPTH = 2
MAX_LENGTH = 10_000

OPERATORS = {"eq": "Eq", "ne": "Ne", "gt": "Gt", "ge": "Ge", "lt": "Lt", "le": "Le", "bt": "Bt"}
CONJUNCTIONS = {"and": "And", "or": "Or"}

TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<character>'(?:[^'\\]|\\.)*')
  | (?P<custom>"[^"]*"\."[^"]*")
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)
  | (?P<decimal>-?\d+\.\d+(?:[eE][+-]?\d+)?)
  | (?P<integer>-?\d+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)


class FilterError(Exception):
    """Invalid filter: `code` 1040 (syntax, unknown field, bad type) or 1041 (too long / too many expressions)."""

    def __init__(self, message: str, token: str | None = None, index: int | None = None, code: int = 1040) -> None:
        super().__init__(message)
        self.message = message
        self.token = token
        self.index = index
        self.code = code

    def as_sparkql_error(self, expression: str) -> dict[str, Any]:
        return {"Token": self.token, "TokenIndex": self.index, "Expression": expression, "Message": self.message,
                "Status": "Fatal"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    index: int
    value: Any = None


@dataclass(frozen=True)
class Literal:
    type: str  # character integer decimal date datetime time boolean null
    value: Any
    text: str


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    values: tuple[Literal, ...]
    index: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # And Or Not
    args: tuple


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise FilterError(f"Unexpected character {text[pos]!r}", text[pos], pos)
        kind = m.lastgroup or ""
        tok = m.group()
        if kind == "word":
            low = tok.lower()
            nxt = TOKEN_RE.match(text, m.end())
            while nxt and nxt.lastgroup == "ws":
                nxt = TOKEN_RE.match(text, nxt.end())
            if nxt and nxt.lastgroup == "lparen" and low in FUNCTIONS:
                kind = "function"
            elif low in OPERATORS:
                kind, tok = "op", OPERATORS[low]
            elif low in CONJUNCTIONS:
                kind, tok = "conj", CONJUNCTIONS[low]
            elif low == "not":
                kind, tok = "not", "Not"
            elif low in ("true", "false"):
                kind = "boolean"
            elif low == "null":
                kind = "null"
            elif tok[0].isupper():
                kind = "field"
            else:
                raise FilterError(f"Unknown keyword or invalid field name {tok!r}", tok, pos)
        if kind != "ws":
            out.append(Token(kind, tok, pos))
        pos = m.end()
    return out


def _parse_datetime(text: str) -> float:
    t = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", t):
        t = t[:-2] + ":" + t[-2:]
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=MLS_TZ)  # a naive literal is the MLS's local time
    return dt.timestamp()


def _date_start(text: str) -> float:
    return datetime.combine(date.fromisoformat(text), datetime.min.time(), MLS_TZ).timestamp()


def _fn_now(args: list[Literal]) -> Literal:
    if args:
        raise FilterError("now() takes no arguments", "now")
    return Literal("datetime", time.time(), "now()")


def _fn_days(args: list[Literal]) -> Literal:
    if len(args) != 1 or args[0].type != "integer":
        raise FilterError("days() takes one integer argument", "days")
    return Literal("datetime", time.time() + 86400 * args[0].value, "days()")


FUNCTIONS: dict[str, Callable[[list[Literal]], Literal]] = {"now": _fn_now, "days": _fn_days}


class Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise FilterError(f"Filter longer than {MAX_LENGTH} characters", code=1041)
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.conditions = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None) -> Token:
        tok = self.peek()
        if tok is None:
            raise FilterError("Unexpected end of filter", None, len(self.text))
        if kind and tok.kind != kind:
            raise FilterError(f"Expected {kind}, found {tok.text!r}", tok.text, tok.index)
        self.pos += 1
        return tok

    def parse(self) -> Any:
        if not self.tokens:
            raise FilterError("Empty filter", "", 0)
        node = self.expression(0)
        tok = self.peek()
        if tok is not None:
            raise FilterError(f"Unexpected {tok.text!r}", tok.text, tok.index)
        return node

    def expression(self, depth: int) -> Any:
        node = self.conjunction(depth)
        while (tok := self.peek()) and tok.kind == "conj" and tok.text == "Or":
            self.pos += 1
            node = BoolOp("Or", (node, self.conjunction(depth)))
        return node

    def conjunction(self, depth: int) -> Any:
        node = self.unary(depth)
        while (tok := self.peek()) and (tok.kind == "not" or (tok.kind == "conj" and tok.text == "And")):
            self.pos += 1
            if tok.kind == "not":  # `A Eq 1 Not B Eq 2` reads as "A and not B"
                node = BoolOp("And", (node, BoolOp("Not", (self.unary(depth),))))
            else:
                node = BoolOp("And", (node, self.unary(depth)))
        return node

    def unary(self, depth: int) -> Any:
        tok = self.peek()
        if tok is None:
            raise FilterError("Unexpected end of filter", None, len(self.text))
        if tok.kind == "not":
            self.pos += 1
            return BoolOp("Not", (self.unary(depth),))
        if tok.kind == "lparen":
            if depth >= MAX_DEPTH:
                raise FilterError(f"Parentheses nested deeper than {MAX_DEPTH}", "(", tok.index, code=1041)
            self.pos += 1
            node = self.expression(depth + 1)
            self.take("rparen")
            return node
        return self.condition()

    def condition(self) -> Condition:
        tok = self.peek()
        assert tok is not None
        if tok.kind == "custom":
            raise FilterError(f"Unknown field {tok.text}", tok.text, tok.index)
        field = self.take("field")
        op = self.take("op")
        values = [self.literal()]
        while (t := self.peek()) and t.kind == "comma":
            self.pos += 1
            values.append(self.literal())
        self.conditions += 1
        if self.conditions > MAX_EXPRESSIONS:
            raise FilterError(f"More than {MAX_EXPRESSIONS} expressions", field.text, field.index, code=1041)
        if len(values) > MAX_LIST_VALUES:
            raise FilterError(f"More than {MAX_LIST_VALUES} values in a list", field.text, field.index, code=1041)
        if op.text == "Bt" and len(values) != 2:
            raise FilterError("Bt takes exactly two values: low,high", op.text, op.index)
        if len(values) > 1 and op.text not in ("Eq", "Ne", "Bt"):
            raise FilterError(f"{op.text} does not take a list of values", op.text, op.index)
        return Condition(field.text, op.text, tuple(values), field.index)

    def literal(self) -> Literal:
        tok = self.take()
        k = tok.kind
        if k == "character":
            return Literal("character", re.sub(r"\\(.)", r"\1", tok.text[1:-1]), tok.text)
        if k == "integer":
            return Literal("integer", int(tok.text), tok.text)
        if k == "decimal":
            return Literal("decimal", float(tok.text), tok.text)
        if k == "boolean":
            return Literal("boolean", tok.text.lower() == "true", tok.text)
        if k == "null":
            return Literal("null", None, tok.text)
        if k == "date":
            try:
                return Literal("date", _date_start(tok.text), tok.text)
            except ValueError as e:
                raise FilterError(f"Invalid date {tok.text}", tok.text, tok.index) from e
        if k == "datetime":
            try:
                return Literal("datetime", _parse_datetime(tok.text), tok.text)
            except ValueError as e:
                raise FilterError(f"Invalid datetime {tok.text}", tok.text, tok.index) from e
        if k == "time":
            return Literal("time", tok.text, tok.text)
        if k == "function":
            self.take("lparen")
            args: list[Literal] = []
            if (t := self.peek()) and t.kind != "rparen":
                args.append(self.literal())
                while (t := self.peek()) and t.kind == "comma":
                    self.pos += 1
                    args.append(self.literal())
            self.take("rparen")
            return FUNCTIONS[tok.text.lower()](args)
        raise FilterError(f"Expected a value, found {tok.text!r}", tok.text, tok.index)


def parse(text: str) -> Any:
    return Parser(text).parse()


# ---- compilation -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """A searchable attribute: its SparkQL type and how to read it from a record."""

    name: str
    type: str  # character, list, timestamp, boolean, integer, decimal
    get: Callable[[Any], Any]
    words: bool = False  # DisplayName wildcard rule: match each word of the value
    wildcards: bool = True  # False: `*` is a literal character (PortalLoginName "does not support wildcards")


def _pattern(value: str) -> re.Pattern | None:
    if "*" not in value:
        return None
    return re.compile("".join(".*" if ch == "*" else re.escape(ch) for ch in value), re.IGNORECASE | re.DOTALL)


def _char_matcher(lit: Literal, words: bool, wildcards: bool = True) -> Callable[[Any], bool]:
    if lit.type == "null":
        return lambda v: v is None or v == "" or v == []
    target = lit.value
    pat = _pattern(target) if wildcards else None
    if pat is None:
        low = target.lower()
        return lambda v: isinstance(v, str) and v.lower() == low
    if words and not any(ch.isspace() for ch in target):
        def match_words(v: Any) -> bool:
            return isinstance(v, str) and (pat.fullmatch(v) is not None or any(pat.fullmatch(w) for w in v.split()))
        return match_words
    return lambda v: isinstance(v, str) and pat.fullmatch(v) is not None


def _type_error(f: Field, op: str, lit: Literal, idx: int) -> FilterError:
    hint = ""
    if f.type == "timestamp" and lit.type == "character":
        hint = f" (use an unquoted datetime, e.g. {f.name} Gt 2025-01-01T09:00:00-05:00)"
    return FilterError(f"{f.name} ({f.type}) cannot be compared with {op} to {lit.type} value {lit.text}{hint}",
                       lit.text, idx)


def _compile_condition(cond: Condition, fields: dict[str, Field]) -> Callable[[Any], bool]:
    f = fields.get(cond.field)
    if f is None:
        raise FilterError(f"Unknown or unsearchable field {cond.field!r}", cond.field, cond.index)
    op, lits, get = cond.op, cond.values, f.get
    nulls = [lit for lit in lits if lit.type == "null"]
    if nulls and (op not in ("Eq", "Ne") or len(lits) > 1):
        raise FilterError("NULL can only be used alone with Eq or Ne", "NULL", cond.index)

    if f.type in ("character", "list"):
        for lit in lits:
            if lit.type not in ("character", "null"):
                raise _type_error(f, op, lit, cond.index)
        if op not in ("Eq", "Ne"):
            raise FilterError(f"{op} is not supported for character field {f.name}", op, cond.index)
        matchers = [_char_matcher(lit, f.words, f.wildcards) for lit in lits]
        if f.type == "list":
            if nulls:
                any_of = lambda r: not get(r)  # noqa: E731
            else:
                any_of = lambda r: any(m(v) for v in (get(r) or ()) for m in matchers)  # noqa: E731
        elif len(matchers) == 1:
            m0 = matchers[0]
            any_of = lambda r: m0(get(r))  # noqa: E731
        else:
            any_of = lambda r: any(m(get(r)) for m in matchers)  # noqa: E731
        return any_of if op == "Eq" else (lambda r: not any_of(r))

    if f.type == "boolean":
        for lit in lits:
            if lit.type not in ("boolean", "null"):
                raise _type_error(f, op, lit, cond.index)
        if op not in ("Eq", "Ne") or len(lits) > 1:
            raise FilterError(f"{op} is not supported for boolean field {f.name}", op, cond.index)
        want = lits[0].value
        return (lambda r: get(r) == want) if op == "Eq" else (lambda r: get(r) != want)

    if f.type == "timestamp":
        for lit in lits:
            if lit.type not in ("datetime", "date", "null"):
                raise _type_error(f, op, lit, cond.index)
        if nulls:
            return (lambda r: get(r) is None) if op == "Eq" else (lambda r: get(r) is not None)

        def bounds(lit: Literal) -> tuple[float, float, bool]:
            return (lit.value, lit.value + 86400, True) if lit.type == "date" else (lit.value, lit.value, False)
        if op == "Bt":
            lo, _, _ = bounds(lits[0])
            _, hi, is_date = bounds(lits[1])
            if is_date:
                return lambda r: (v := get(r)) is not None and lo <= v < hi
            return lambda r: (v := get(r)) is not None and lo <= v <= hi
        checks = []
        for lit in lits:
            lo, hi, is_date = bounds(lit)
            checks.append(_range_check(op, lo, hi, is_date))
        if len(checks) == 1:
            c0 = checks[0]
            return lambda r: (v := get(r)) is not None and c0(v)
        if op == "Ne":
            return lambda r: (v := get(r)) is not None and all(c(v) for c in checks)
        return lambda r: (v := get(r)) is not None and any(c(v) for c in checks)

    # integer / decimal
    for lit in lits:
        if lit.type not in ("integer", "decimal", "null"):
            raise _type_error(f, op, lit, cond.index)
        if f.type == "integer" and lit.type == "decimal":
            raise _type_error(f, op, lit, cond.index)
    if nulls:
        return (lambda r: get(r) is None) if op == "Eq" else (lambda r: get(r) is not None)
    nums = [lit.value for lit in lits]
    if op == "Bt":
        lo, hi = nums
        return lambda r: (v := get(r)) is not None and lo <= v <= hi
    if op == "Eq":
        s = set(nums)
        return lambda r: get(r) in s
    if op == "Ne":
        s = set(nums)
        return lambda r: get(r) not in s
    n = nums[0]
    cmp = {"Gt": lambda v: v > n, "Ge": lambda v: v >= n, "Lt": lambda v: v < n, "Le": lambda v: v <= n}[op]
    return lambda r: (v := get(r)) is not None and cmp(v)


def _range_check(op: str, lo: float, hi: float, is_date: bool) -> Callable[[float], bool]:
    if is_date:
        return {"Eq": lambda v: lo <= v < hi, "Ne": lambda v: not (lo <= v < hi), "Gt": lambda v: v >= hi,
                "Ge": lambda v: v >= lo, "Lt": lambda v: v < lo, "Le": lambda v: v < hi}[op]
    return {"Eq": lambda v: v == lo, "Ne": lambda v: v != lo, "Gt": lambda v: v > lo, "Ge": lambda v: v >= lo,
            "Lt": lambda v: v < lo, "Le": lambda v: v <= lo}[op]


def compile_node(node: Any, fields: dict[str, Field]) -> Callable[[Any], bool]:
    if isinstance(node, Condition):
        return _compile_condition(node, fields)
    parts = [compile_node(a, fields) for a in node.args]
    if node.op == "Not":
        p = parts[0]
        return lambda r: not p(r)
    a, b = parts
    if node.op == "And":
        return lambda r: a(r) and b(r)
    return lambda r: a(r) or b(r)


def compile_filter(text: str, fields: dict[str, Field]) -> Callable[[Any], bool]:
    """Parse and compile; raises FilterError."""
    return compile_node(parse(text), fields)


def conditions(node: Any) -> list[Condition]:
    if isinstance(node, Condition):
        return [node]
    return [c for a in node.args for c in conditions(a)]


def days_ago(n: float) -> float:
    return (datetime.now(MLS_TZ) - timedelta(days=n)).timestamp()


def fields_of(node: Any) -> set[str]:
    """Every field name a parsed filter compares."""
    if isinstance(node, Condition):
        return {node.field}
    if isinstance(node, BoolOp):
        return set().union(*(fields_of(a) for a in node.args)) if node.args else set()
    return set()
