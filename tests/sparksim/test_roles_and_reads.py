"""Supported Roles tables (Contacts, Tags, News Feed, Accounts) and the supporting reads the CRM uses."""

from __future__ import annotations

import pytest

from tests.sparksim.client import d

READ = [("alice", 200), ("idx", 200), ("public", 200), ("vicky", 403), ("paula", 403)]


@pytest.mark.parametrize(("login", "status"), READ)
def test_contacts_reads_by_role(client, login, status) -> None:
    assert client(login).get("/contacts").status_code == status


@pytest.mark.parametrize(("login", "status"), [("alice", 201), ("idx", 201), ("public", 403), ("vicky", 403),
                                               ("paula", 403)])
def test_contacts_writes_by_role(client, login, status) -> None:
    r = client(login).post("/contacts", {"DisplayName": f"Lead from {login}"})
    assert r.status_code == status
    if status == 403:
        assert d(r)["Code"] == 1500


@pytest.mark.parametrize(("login", "status"), [("alice", 200), ("idx", 200), ("public", 200), ("vicky", 200),
                                               ("paula", 200)])
def test_tags_reads_by_role(client, login, status) -> None:
    assert client(login).get("/contacts/tags").status_code == status


@pytest.mark.parametrize(("login", "status"), [("alice", 200), ("idx", 403), ("public", 403), ("vicky", 200),
                                               ("paula", 200)])
def test_newsfeed_list_by_role(client, login, status) -> None:
    assert client(login).get("/newsfeeds").status_code == status


def test_public_reads_a_single_feed(client) -> None:
    fid = d(client("alice").get("/newsfeeds"))["Results"][0]["Id"]
    assert client("public").get(f"/newsfeeds/{fid}").status_code == 200


@pytest.mark.parametrize("login", ["alice", "idx", "public", "vicky", "paula", "mona"])
def test_accounts_readable_by_every_role(client, login) -> None:
    assert client(login).get("/my/account").status_code == 200


def test_tags_list_and_create(alice) -> None:
    tags = d(alice.get("/contacts/tags"))["Results"]
    assert tags and all(t["ResourceUri"] == f"/v1/contacts/tags/{t['Tag']}" for t in tags)
    r = alice.post("/contacts/tags", {"Tag": "A New Tag"})
    assert r.status_code == 201
    assert "A New Tag" in [t["Tag"] for t in d(alice.get("/contacts/tags"))["Results"]]
    assert d(alice.post("/contacts/tags", {"Tag": "x" * 76}))["Code"] == 1053


def test_contacts_by_tag(alice) -> None:
    rows = d(alice.get("/contacts/tags/IDX Lead", _limit=25))["Results"]
    assert rows and all("IDX Lead" in r["Tags"] for r in rows)


def test_delete_tag_removes_it_from_contacts(alice) -> None:
    assert alice.delete("/contacts/tags/Sphere").status_code == 200
    assert d(alice.get("/contacts/tags/Sphere"))["Results"] == []


def test_newsfeeds_shape(alice, accounts) -> None:
    f = d(alice.get("/newsfeeds"))["Results"][0]
    assert f["ResourceUri"] == f"/v1/newsfeeds/{f['Id']}" and f["Type"] == "SavedSearch"
    assert f["Subscription"]["ResourceUri"].startswith("/v1/savedsearches/")
    assert alice.put(f"/newsfeeds/{f['Id']}", {"Active": False}).status_code == 200
    assert d(alice.get(f"/newsfeeds/{f['Id']}"))["Results"][0]["Active"] is False


def test_contact_newsfeeds(alice) -> None:
    for c in d(alice.get("/contacts", _limit=25))["Results"]:
        feeds = d(alice.get(f"/contacts/{c['Id']}/newsfeeds"))["Results"]
        if feeds:
            return
    raise AssertionError("no contact with a news feed")


def test_savedsearches_and_listing_search(alice) -> None:
    s = d(alice.get("/savedsearches", _expand="NewsFeeds,NewsFeedSubscriptionSummary"))["Results"][0]
    assert s["ResourceUri"] == f"/v1/savedsearches/{s['Id']}" and "NewsFeedSubscriptionSummary" in s
    rows = d(alice.get("/listings", _filter=f"SavedSearch Eq '{s['Id']}'", _limit=25))["Results"]
    assert isinstance(rows, list)


def test_listings_search_and_one(alice) -> None:
    rows = d(alice.get("/listings", _filter="City Eq 'Fargo' And BedsTotal Ge 3", _orderby="-ListPrice",
                       _limit=5))["Results"]
    assert rows and all(r["StandardFields"]["City"] == "Fargo" and r["StandardFields"]["BedsTotal"] >= 3
                        for r in rows)
    prices = [float(r["StandardFields"]["ListPrice"]) for r in rows]
    assert prices == sorted(prices, reverse=True)
    one = d(alice.get(f"/listings/{rows[0]['Id']}", _expand="Photos"))["Results"][0]
    assert one["StandardFields"]["Photos"][0]["Primary"] is True


def test_my_account_and_office_roster(alice, accounts) -> None:
    me = d(alice.get("/my/account"))["Results"][0]
    assert me["Id"] == accounts["alice"]["user_id"] and me["OfficeId"] == accounts["alice"]["office_id"]
    roster = d(alice.get(f"/accounts/by/office/{me['OfficeId']}"))["Results"]
    assert {a["Name"] for a in roster} == {"Alice Anderson", "Bob Brooks", "Carol Chen"}
    assert alice.get("/accounts/by/office/20990101000000000000000000").status_code == 404
