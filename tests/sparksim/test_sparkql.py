"""Unit tests: the SparkQL parser and compiler (spark-api-notes §5, Contacts page DisplayName rule)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparksim.sparkql import Field, FilterError, compile_filter, parse

FIELDS = {
    "DisplayName": Field("DisplayName", "character", lambda r: r.name, words=True),
    "City": Field("City", "character", lambda r: r.city),
    "Tags": Field("Tags", "list", lambda r: r.tags),
    "Beds": Field("Beds", "integer", lambda r: r.beds),
    "Price": Field("Price", "decimal", lambda r: r.price),
    "ModificationTimestamp": Field("ModificationTimestamp", "timestamp", lambda r: r.ts),
    "Active": Field("Active", "boolean", lambda r: r.active),
}
NEDDY = SimpleNamespace(name="Neddy Nederlander", city="Fargo", tags=["Buyer", "Hot Lead"], beds=3, price=250000.0,
                        ts=1_700_000_000, active=True)
OTHER = SimpleNamespace(name="Ann O'Brien", city="Moorhead", tags=[], beds=5, price=600000.0, ts=1_600_000_000,
                        active=False)


def match(text: str, rec=NEDDY) -> bool:
    return compile_filter(text, FIELDS)(rec)


@pytest.mark.parametrize(("text", "neddy", "other"), [
    ("City Eq 'Fargo'", True, False),
    ("City Ne 'Fargo'", False, True),
    ("City eq 'fargo'", True, False),
    ("City EQ 'Fargo','Moorhead'", True, True),
    ("City Ne 'Fargo','Moorhead'", False, False),
    ("Beds Gt 3", False, True),
    ("Beds Ge 3", True, True),
    ("Beds Lt 4", True, False),
    ("Beds Le 2", False, False),
    ("Beds Bt 3,4", True, False),
    ("Price Bt 100000.0,300000.0", True, False),
    ("Beds Eq 3 And City Eq 'Fargo'", True, False),
    ("Beds Eq 3 Or City Eq 'Moorhead'", True, True),
    ("Not City Eq 'Fargo'", False, True),
    ("Beds Ge 1 Not City Eq 'Fargo'", False, True),
    ("(City Eq 'Fargo' Or City Eq 'Moorhead') And Beds Gt 4", False, True),
    ("City Eq 'Moorhead' Or City Eq 'Fargo' And Beds Gt 4", False, True),
    ("DisplayName Eq 'Ann O\\'Brien'", False, True),
    ("DisplayName Eq 'Neddy*'", True, False),
    ("DisplayName Eq 'neder*'", True, False),
    ("DisplayName Eq '*lander'", True, False),
    ("DisplayName Eq 'Neddy N*'", True, False),
    ("DisplayName Eq 'Nederlander'", False, False),
    ("City Eq 'Far*'", True, False),
    ("Tags Eq 'buyer'", True, False),
    ("Tags Ne 'Buyer'", False, True),
    ("Tags Eq NULL", False, True),
    ("Active Eq true", True, False),
    ("ModificationTimestamp Gt 2023-11-14T22:13:19Z", True, False),
    ("ModificationTimestamp Gt 2023-11-14T22:13:20Z", False, False),
    ("ModificationTimestamp Ge 2023-11-14T17:13:20-05:00", True, False),
    ("ModificationTimestamp Lt 2021-01-01", False, True),
    ("ModificationTimestamp Bt 2020-01-01,2020-12-31", False, True),
    ("ModificationTimestamp Eq 2023-11-14", True, False),
])
def test_semantics(text: str, neddy: bool, other: bool) -> None:
    assert match(text, NEDDY) is neddy
    assert match(text, OTHER) is other


@pytest.mark.parametrize("text", [
    "", "City", "City Eq", "City Foo 'x'", "City Eq 'x' And", "(City Eq 'x'", "City Eq 'x')", "city Eq 'x'",
    "Unknown Eq 'x'", "City Gt 'x'", "Beds Eq 'three'", "ModificationTimestamp Gt '2024-01-01'",
    "Beds Bt 1", "Beds Gt 1,2", "City Eq 'unterminated", '"Custom"."Field" Eq 1', "Beds Eq NULL,1",
])
def test_invalid_filters_are_1040(text: str) -> None:
    with pytest.raises(FilterError) as e:
        compile_filter(text, FIELDS)
    assert e.value.code == 1040


def test_too_many_expressions_is_1041() -> None:
    with pytest.raises(FilterError) as e:
        compile_filter(" Or ".join(["Beds Eq 1"] * 76), FIELDS)
    assert e.value.code == 1041
    compile_filter(" Or ".join(["Beds Eq 1"] * 75), FIELDS)


def test_too_deep_and_too_many_values_are_1041() -> None:
    with pytest.raises(FilterError) as e:
        compile_filter("(((Beds Eq 1)))", FIELDS)
    assert e.value.code == 1041
    with pytest.raises(FilterError) as e:
        compile_filter("Beds Eq " + ",".join(["1"] * 201), FIELDS)
    assert e.value.code == 1041


def test_functions_now_and_days() -> None:
    assert match("ModificationTimestamp Lt now()")
    assert not match("ModificationTimestamp Gt days(-7)")


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30))
def test_any_quoted_value_round_trips(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    rec = SimpleNamespace(city=value)
    if "*" in value:
        return
    assert compile_filter(f"City Eq '{escaped}'", FIELDS)(rec)


@given(st.text(max_size=40))
def test_parser_never_crashes(text: str) -> None:
    try:
        parse(text)
    except FilterError:
        pass
