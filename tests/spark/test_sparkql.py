"""SparkQL building: quoting is injection-proof and round-trips through a SparkQL tokenizer (the simulator's,
which follows the reference parser's lexer)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm.spark import sparkql as q
from sparksim import sparkql as reference

CHAR_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'", re.DOTALL)


def unquote(literal: str) -> str:
    assert CHAR_LITERAL.fullmatch(literal), literal
    return re.sub(r"\\(.)", r"\1", literal[1:-1], flags=re.DOTALL)


def parsed_values(expr: str) -> list:
    tree = reference.parse(expr)
    assert isinstance(tree, reference.Condition), tree
    return [lit.value for lit in tree.values]


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(text.filter(lambda s: "*" not in s))
def test_quote_string_round_trips_and_stays_one_literal(value):
    quoted = q.quote_string(value)
    assert unquote(quoted) == value
    assert parsed_values(f"DisplayName Eq {quoted}") == [value]


@given(text)
def test_quote_string_refuses_a_star_unless_wildcards_are_wanted(value):
    if "*" in value:
        with pytest.raises(ValueError):
            q.quote_string(value)
    assert unquote(q.quote_string(value, wildcards=True)) == value


@given(text)
def test_contains_keeps_the_users_text_and_only_its_own_wildcards(term):
    cleaned = term.replace("*", "").strip()
    if not cleaned:
        with pytest.raises(ValueError):
            q.contains("DisplayName", term)
        return
    expr = q.contains("DisplayName", term)
    assert parsed_values(expr) == [f"*{cleaned}*"]
    assert q.starts_with("DisplayName", term).endswith("*'")


@given(st.lists(text.filter(lambda s: "*" not in s), min_size=1, max_size=10))
def test_any_of_round_trips_every_value(values):
    expr = q.any_of("Tags", values)
    assert parsed_values(expr) == values
    tree = reference.parse(q.none_of("Tags", values))
    assert tree.op == "Ne"


@given(text.filter(lambda s: "*" not in s), text.filter(lambda s: "*" not in s))
def test_combining_user_values_never_changes_the_structure(a, b):
    expr = q.and_(q.eq("DisplayName", a), q.or_(q.eq("Tags", b), q.eq("Tags", "VIP")))
    tree = reference.parse(expr)
    assert type(tree).__name__ != "Condition"  # an And node at the top, whatever the values held
    assert expr.count(" And ") >= 1


def test_examples():
    assert q.eq("DisplayName", "O'Brien") == "DisplayName Eq 'O\\'Brien'"
    assert q.eq("PrimaryEmail", "a\\b") == "PrimaryEmail Eq 'a\\\\b'"
    assert q.any_of("City", ["Fargo", "Moorhead"]) == "City Eq 'Fargo','Moorhead'"
    assert q.between("ListPrice", 100000, 250000.5) == "ListPrice Bt 100000,250000.5"
    assert q.gt("ModificationTimestamp", dt.datetime(2025, 1, 1, 9, tzinfo=dt.UTC)) == \
        "ModificationTimestamp Gt 2025-01-01T09:00:00+00:00"
    assert q.eq("BedsTotal", 3) == "BedsTotal Eq 3" and q.eq("VowActive", True) == "VowActive Eq true"
    assert q.eq("PrimaryEmail", None) == "PrimaryEmail Eq NULL"
    assert q.eq("ListPrice", 1e-7) == "ListPrice Eq 0.0000001"
    assert q.starts_with("DisplayName", "Ned*") == "DisplayName Eq 'Ned*'"
    assert q.and_(q.eq("A", 1), None, q.or_(q.eq("B", 1), q.eq("C", 1))) == "A Eq 1 And (B Eq 1 Or C Eq 1)"
    assert q.or_(q.and_(q.eq("A", 1), q.eq("B", 2)), q.eq("C", 3)) == "A Eq 1 And B Eq 2 Or C Eq 3"
    assert q.and_(None, "") is None
    assert q.and_("X Eq 1 Or Y Eq 2", q.eq("Z", 1)) == "(X Eq 1 Or Y Eq 2) And Z Eq 1"
    assert q.not_(q.eq("Tags", "Cold")) == "Not (Tags Eq 'Cold')"
    assert q.eq('"Main"."Lot Size"', 2) == '"Main"."Lot Size" Eq 2'


@pytest.mark.parametrize("bad", ["displayName", "Display Name", "A' Or 'x", "", "A;B", '"x"'])
def test_field_names_are_checked(bad):
    with pytest.raises(ValueError):
        q.eq(bad, "x")


def test_list_limits():
    with pytest.raises(ValueError):
        q.any_of("Tags", [])
    with pytest.raises(ValueError):
        q.any_of("Tags", [str(i) for i in range(201)])
    with pytest.raises(TypeError):
        q.between("City", "a", "b")
    with pytest.raises(ValueError):
        q.eq("ListPrice", float("nan"))
