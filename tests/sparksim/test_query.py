"""_filter (SparkQL over contact fields), _orderby, _select and _expand on /contacts (contacts.txt, notes §4–5)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.sparksim.client import d


def all_rows(c, **params) -> list[dict]:
    out, page = [], 1
    while True:
        body = d(c.get("/contacts", _limit=25, _page=page, _pagination=1, **params))
        out += body["Results"]
        if page >= body["Pagination"]["TotalPages"]:
            return out
        page += 1


def test_filter_eq_on_tags(alice) -> None:
    rows = all_rows(alice, _filter="Tags Eq 'Buyer'")
    assert rows and all("Buyer" in r["Tags"] for r in rows)
    total = all_rows(alice)
    assert len(rows) == sum("Buyer" in r["Tags"] for r in total)


def test_filter_ne_and_value_list(alice) -> None:
    everyone = all_rows(alice)
    ne = all_rows(alice, _filter="Tags Ne 'Buyer','Seller'")
    assert len(ne) == sum(not ({"Buyer", "Seller"} & set(r["Tags"])) for r in everyone)


def test_filter_case_insensitive_keywords_and_parentheses(alice) -> None:
    a = all_rows(alice, _filter="(Tags eq 'Buyer' or Tags EQ 'Seller') and not HomeLocality Eq 'Fargo'")
    assert all(({"Buyer", "Seller"} & set(r["Tags"])) and r.get("HomeLocality") != "Fargo" for r in a)


def test_display_name_wildcard_matches_every_word(alice) -> None:
    rec = d(alice.get("/contacts", _limit=1))["Results"][0]
    family = rec["FamilyName"]
    rows = all_rows(alice, _filter=f"DisplayName Eq '{family[:3].lower()}*'")
    assert rec["Id"] in {r["Id"] for r in rows}
    assert all(any(w.lower().startswith(family[:3].lower()) for w in r["DisplayName"].split()) for r in rows)


def test_filter_quote_escape(alice) -> None:
    r = alice.post("/contacts", {"DisplayName": "Ann O'Brien"})
    rows = all_rows(alice, _filter="DisplayName Eq 'Ann O\\'Brien'")
    assert [x["Id"] for x in rows] == [d(r)["Results"][0]["Id"]]


def test_modification_timestamp_incremental_sync(alice) -> None:
    everyone = all_rows(alice)
    cursor = max(r["ModificationTimestamp"] for r in everyone)
    assert all_rows(alice, _filter=f"ModificationTimestamp Gt {cursor}") == []
    target = everyone[5]
    alice.put(f"/contacts/{target['Id']}", {"Note": "changed"})
    changed = all_rows(alice, _filter=f"ModificationTimestamp Gt {cursor}")
    assert [r["Id"] for r in changed] == [target["Id"]]
    new_cursor = changed[0]["ModificationTimestamp"]
    assert datetime.fromisoformat(new_cursor) > datetime.fromisoformat(cursor)
    assert all_rows(alice, _filter=f"ModificationTimestamp Ge {cursor} And ModificationTimestamp Le {new_cursor}")


def test_bt_on_timestamps(alice) -> None:
    rows = all_rows(alice, _filter="CreatedTimestamp Bt 2020-01-01,2024-12-31")
    assert all("2020-01-01" <= r["CreatedTimestamp"][:10] <= "2024-12-31" for r in rows)


@pytest.mark.parametrize("flt", ["Tags Eq", "Tags Eq 'x' And", "NoSuchField Eq 'x'", "DisplayName Gt 'a'",
                                 "ModificationTimestamp Gt '2024-01-01T00:00:00Z'", "Note Eq 'x'"])
def test_bad_filter_is_400_1040(alice, flt) -> None:
    r = alice.get("/contacts", _filter=flt)
    assert (r.status_code, d(r)["Code"]) == (400, 1040)
    assert d(r)["SparkQLErrors"][0]["Status"] == "Fatal"


def test_too_many_expressions_is_1041(alice) -> None:
    r = alice.get("/contacts", _filter=" Or ".join(["Tags Eq 'Buyer'"] * 76))
    assert (r.status_code, d(r)["Code"]) == (400, 1041)


def test_orderby_minus_score_with_activity(alice) -> None:
    rows = d(alice.get("/contacts", _limit=25, _orderby="-Score", _expand="Activity"))["Results"]
    scores = [r["Activity"]["Score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert rows[0]["Activity"]["RelativeScore"] == 1.0
    assert all(0 <= r["Activity"]["RelativeScore"] <= 1 for r in rows)
    assert all("DailyActivity" not in r["Activity"] for r in rows)


def test_orderby_comma_list(alice) -> None:
    rows = all_rows(alice, _orderby="HomeLocality,-DisplayName")
    keys = [(r.get("HomeLocality", "").lower(), r["DisplayName"].lower()) for r in rows]
    for a, b in zip(keys, keys[1:], strict=False):
        assert a[0] < b[0] or (a[0] == b[0] and a[1] >= b[1])


def test_orderby_unknown_field_is_1053(alice) -> None:
    assert d(alice.get("/contacts", _orderby="Nope"))["Code"] == 1053


def test_select(alice) -> None:
    rows = d(alice.get("/contacts", _select="DisplayName,PrimaryEmail"))["Results"]
    assert set(rows[0]) <= {"ResourceUri", "Id", "DisplayName", "PrimaryEmail"}
    assert d(alice.get("/contacts", _select="Bogus"))["Code"] == 1053


def test_daily_activity_on_single_record_only(alice) -> None:
    top = d(alice.get("/contacts", _limit=1, _orderby="-Score"))["Results"][0]
    one = d(alice.get(f"/contacts/{top['Id']}", _expand="Activity"))["Results"][0]["Activity"]
    series = one["DailyActivity"]
    assert len(series) == 30
    assert sum(x["Score"] for x in series) == one["Score"]
    dates = [x["Date"] for x in series]
    assert dates == sorted(dates)


@pytest.mark.parametrize(("expansion", "keys"), [
    ("NewsFeedSummary", {"LastListingEventTimestamp", "UnapprovedListingEventCount", "UnreadListingEventCount"}),
    ("NewsFeedNotificationSummary", {"LastListingNotificationEventTimestamp",
                                     "UnapprovedListingNotificationEventCount",
                                     "UnreadListingNotificationEventCount"}),
    ("Notes", {"Notes"}), ("Portal", {"Portal"}), ("VowActive", {"VowActive"}),
    ("VowEnabled", {"VowEnabled", "VowExists"}), ("UniquePrimaryEmail", {"UniquePrimaryEmail"}),
])
def test_other_expansions(alice, expansion, keys) -> None:
    rows = d(alice.get("/contacts", _limit=3, _expand=expansion))["Results"]
    assert all(keys <= set(r) for r in rows)


def test_expand_tolerates_whitespace(alice) -> None:
    rows = d(alice.get("/contacts", _limit=1, _expand="Activity, VowActive"))["Results"]
    assert "Activity" in rows[0] and "VowActive" in rows[0]


def test_unique_primary_email_false_when_shared(client) -> None:
    alice, bob = client("alice"), client("bob")
    rec = d(alice.get("/contacts", _limit=1))["Results"][0]
    bob.post("/contacts", {"DisplayName": "Twin", "PrimaryEmail": rec["PrimaryEmail"]})
    got = d(alice.get(f"/contacts/{rec['Id']}", _expand="UniquePrimaryEmail"))["Results"][0]
    assert got["UniquePrimaryEmail"] is False
