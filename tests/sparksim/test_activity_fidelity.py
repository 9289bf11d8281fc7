"""sparksim as the Contacts and Contacts: Activity pages describe it (issue 18): RelativeScore's one 7-day
denominator, the portal account of a new contact, PortalLoginName without wildcards, Score for Private only, and the
role table on /contacts/unconnected and transfers."""

from __future__ import annotations

import pytest

from tests.sparksim.client import d


def all_contacts(c, path: str = "/contacts", **params) -> list[dict]:
    out, page = [], 1
    while True:
        rows = d(c.get(path, _limit=25, _page=page, **params))["Results"]
        out += rows
        if len(rows) < 25:
            return out
        page += 1


def book(c) -> list[dict]:
    return all_contacts(c, _expand="Activity") + all_contacts(c, "/contacts/unconnected", _expand="Activity")


# ---- RelativeScore ---------------------------------------------------------------------------------------------------

def test_relative_score_has_one_denominator_for_connected_and_unconnected(alice) -> None:
    rows = book(alice)
    unconnected = [r for r in rows if r["RecordStatus"] == "Unconnected"]
    assert unconnected and len(rows) > len(unconnected)
    top = max(r["Activity"]["Score"] for r in rows)
    assert top > 0
    for r in rows:
        assert r["Activity"]["RelativeScore"] == round(r["Activity"]["Score"] / top, 4), r["Id"]
    # The unconnected contacts are measured against the agent's top contact, not against their own top.
    best_unconnected = max(unconnected, key=lambda r: r["Activity"]["Score"])
    if best_unconnected["Activity"]["Score"] < top:
        assert best_unconnected["Activity"]["RelativeScore"] < 1


def test_daily_relative_score_uses_the_same_denominator(alice) -> None:
    rows = book(alice)
    top = max(r["Activity"]["Score"] for r in rows)
    one = max(rows, key=lambda r: r["Activity"]["Score"] if r["RecordStatus"] == "Unconnected" else -1)
    daily = d(alice.get(f"/contacts/{one['Id']}", _expand="Activity"))["Results"][0]["Activity"]["DailyActivity"]
    assert len(daily) == 30
    assert all(day["RelativeScore"] == round(day["Score"] / top, 4) for day in daily)


def test_a_top_contact_transferred_away_still_counts_for_seven_days(client, accounts) -> None:
    alice, bob = client("alice"), client("bob")
    rows = book(alice)
    ranked = sorted(rows, key=lambda r: r["Activity"]["Score"], reverse=True)
    top, second = ranked[0], ranked[1]
    assert top["Activity"]["Score"] > second["Activity"]["Score"]
    assert alice.put(f"/contacts/{top['Id']}", {"OwnerId": accounts["bob"]["user_id"]}).status_code == 200
    again = d(alice.get(f"/contacts/{second['Id']}", _expand="Activity"))["Results"][0]["Activity"]
    # It was under alice within the past 7 days: still her denominator, so her new best is not at 1.0.
    assert again["RelativeScore"] == round(second["Activity"]["Score"] / top["Activity"]["Score"], 4) < 1
    # And it is bob's contact now: his denominator is at least its score.
    moved = d(bob.get(f"/contacts/{top['Id']}", _expand="Activity"))["Results"][0]["Activity"]
    bob_top = max(r["Activity"]["Score"] for r in book(bob))
    assert bob_top >= top["Activity"]["Score"]
    assert moved["RelativeScore"] == round(top["Activity"]["Score"] / bob_top, 4)


def test_a_deleted_top_contact_still_counts_for_seven_days(alice) -> None:
    ranked = sorted(book(alice), key=lambda r: r["Activity"]["Score"], reverse=True)
    top, second = ranked[0], ranked[1]
    assert alice.delete(f"/contacts/{top['Id']}").status_code == 200
    again = d(alice.get(f"/contacts/{second['Id']}", _expand="Activity"))["Results"][0]["Activity"]
    assert again["RelativeScore"] == round(second["Activity"]["Score"] / top["Activity"]["Score"], 4)


# ---- POST /contacts creates a portal account ---------------------------------------------------------------------

def test_new_contact_has_an_auto_generated_portal_account(alice) -> None:
    r = alice.post("/contacts", {"DisplayName": "Portal Person", "PrimaryEmail": "portal.person@example.org"})
    assert r.status_code == 201
    new_id = d(r)["Results"][0]["Id"]
    got = d(alice.get(f"/contacts/{new_id}", _expand="Portal,VowEnabled"))["Results"][0]
    assert got["VowExists"] is True
    assert got["Portal"] and got["Portal"]["LoginName"]
    assert got["PortalLoginName"] == got["Portal"]["LoginName"]
    # Searchable by its login name, like any other portal account.
    found = d(alice.get("/contacts", _filter=f"PortalLoginName Eq '{got['PortalLoginName']}'"))["Results"]
    assert [x["Id"] for x in found] == [new_id]


# ---- PortalLoginName: no wildcards ----------------------------------------------------------------------------------

def test_portal_login_name_does_not_support_wildcards(alice) -> None:
    with_portal = [r for r in all_contacts(alice, _expand="Portal") if r.get("Portal")]
    assert with_portal
    login = with_portal[0]["Portal"]["LoginName"]
    exact = d(alice.get("/contacts", _filter=f"PortalLoginName Eq '{login}'"))["Results"]
    assert [x["Id"] for x in exact] == [with_portal[0]["Id"]]
    for pattern in (login[:3] + "*", "*" + login[-3:], "*"):
        r = alice.get("/contacts", _filter=f"PortalLoginName Eq '{pattern}'")
        assert r.status_code == 200 and d(r)["Results"] == [], pattern
    # Other character fields keep their wildcards.
    assert d(alice.get("/contacts", _filter=f"DisplayName Eq '{with_portal[0]['DisplayName'][:2]}*'"))["Results"]


# ---- Score is the Activity expansion's: Private only -------------------------------------------------------------

@pytest.mark.parametrize("login", ["idx", "public"])
@pytest.mark.parametrize("params", [{"_orderby": "-Score"}, {"_orderby": "DisplayName,+Score"},
                                    {"_filter": "Score Gt 10"}, {"_filter": "DisplayName Eq 'A*' Or Score Ge 0"}])
def test_score_ordering_and_filters_are_private_only(client, login, params) -> None:
    r = client(login).get("/contacts", **params)
    assert (r.status_code, d(r)["Code"]) == (403, 1500)


@pytest.mark.parametrize("login", ["idx", "public"])
def test_other_roles_still_read_contacts_without_score(client, login) -> None:
    r = client(login).get("/contacts", _orderby="DisplayName", _filter="DisplayName Eq 'A*'")
    assert r.status_code == 200
    assert all("Activity" not in x for x in d(r)["Results"])


def test_private_may_order_by_score(alice) -> None:
    rows = d(alice.get("/contacts", _orderby="-Score", _expand="Activity", _limit=25))["Results"]
    scores = [r["Activity"]["Score"] for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_score_is_not_a_searchable_field_even_for_private(alice) -> None:
    # The Contacts page lists Score under the Activity expansion, not among the searchable attributes.
    r = alice.get("/contacts", _filter="Score Gt 10")
    assert (r.status_code, d(r)["Code"]) == (400, 1040)


# ---- The role table: /contacts/unconnected and transfers ----------------------------------------------------------

@pytest.mark.parametrize("login", ["idx", "public"])
def test_unconnected_contacts_are_readable_by_the_roles_that_read_contacts(client, login) -> None:
    r = client(login).get("/contacts/unconnected", _limit=25)
    assert r.status_code == 200
    rows = d(r)["Results"]
    assert rows and {x["RecordStatus"] for x in rows} == {"Unconnected"}
    refused = client(login).get("/contacts/unconnected", _expand="Activity")
    assert (refused.status_code, d(refused)["Code"]) == (403, 1500)


@pytest.mark.parametrize("login", ["vicky", "paula"])
def test_unconnected_contacts_are_not_for_consumers(client, login) -> None:
    r = client(login).get("/contacts/unconnected")
    assert (r.status_code, d(r)["Code"]) == (403, 1500)


def test_idx_key_transfers_within_its_agents_office(client, accounts) -> None:
    idx = client("idx")  # alice's IDX website key: Contacts writes are allowed to IDX
    c = d(idx.get("/contacts", _limit=1))["Results"][0]
    assert idx.put(f"/contacts/{c['Id']}", {"OwnerId": accounts["carol"]["user_id"]}).status_code == 200
    assert d(client("carol").get(f"/contacts/{c['Id']}"))["Results"][0]["OwnerId"] == accounts["carol"]["user_id"]


def test_idx_key_transfer_outside_the_office_is_refused(client, accounts) -> None:
    idx = client("idx")
    c = d(idx.get("/contacts", _limit=1))["Results"][0]
    r = idx.put(f"/contacts/{c['Id']}", {"OwnerId": accounts["dave"]["user_id"]})
    assert (r.status_code, d(r)["Code"]) == (403, 1500)


def test_public_key_may_not_transfer(client, accounts) -> None:
    public = client("public")
    c = d(public.get("/contacts", _limit=1))["Results"][0]
    r = public.put(f"/contacts/{c['Id']}", {"OwnerId": accounts["carol"]["user_id"]})
    assert (r.status_code, d(r)["Code"]) == (403, 1500)
