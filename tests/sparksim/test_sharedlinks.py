"""Shared Links page: create (listings, search), all links, one link, roles and rules."""

from __future__ import annotations

import re

import pytest
import requests

from tests.sparksim.client import d


def listing_ids(c, n: int = 3) -> list[str]:
    return [x["Id"] for x in d(c.get("/listings", _limit=n))["Results"]]


def test_create_listings_link(sim, alice) -> None:
    r = alice.post("/sharedlinks/listings", {"ListingIds": listing_ids(alice)})
    assert r.status_code == 201
    res = d(r)["Results"][0]
    assert re.fullmatch(r"[A-Za-z0-9]{3,8}", res["Id"]) and res["ResourceUri"] == f"/v1/sharedlinks/{res['Id']}"
    link = d(alice.get(f"/sharedlinks/{res['Id']}"))["Results"][0]
    assert link["Type"] == "Indirect" and link["Mode"] == "Idx" and link["SharedUri"]
    page = requests.get(link["SharedUri"], timeout=5)
    assert page.status_code == 200 and "Shared listings" in page.text


def test_contact_ids_fill_recommended_cart(sim, alice) -> None:
    cid = d(alice.get("/contacts", _limit=1))["Results"][0]["Id"]
    ids = listing_ids(alice)
    assert alice.post("/sharedlinks/listings", {"ListingIds": ids, "ContactIds": [cid]}).status_code == 201
    cart = sim.control("GET", f"/_sim/carts?contact_id={cid}").json()
    assert cart["name"] == "Recommended" and cart["listing_ids"] == ids
    got = d(alice.get("/listings", _filter=f"ListingCart Eq '{cid}'", _limit=25))["Results"]
    assert sorted(x["Id"] for x in got) == sorted(ids)


def test_max_200_listings(alice) -> None:
    ids = [x["Id"] for p in range(1, 10) for x in d(alice.get("/listings", _limit=25, _page=p))["Results"]]
    assert len(ids) >= 201
    assert alice.post("/sharedlinks/listings", {"ListingIds": ids[:200]}).status_code == 201
    r = alice.post("/sharedlinks/listings", {"ListingIds": ids[:201]})
    assert (r.status_code, d(r)["Code"]) == (400, 1053)


def test_unknown_listing_and_missing_ids(alice) -> None:
    assert d(alice.post("/sharedlinks/listings", {"ListingIds": ["20990101000000000000000000"]}))["Code"] == 1053
    assert d(alice.post("/sharedlinks/listings", {}))["Code"] == 1050


def test_direct_links_are_public_and_private_only(client) -> None:
    alice = client("alice")
    r = alice.post("/sharedlinks/listings", {"ListingIds": listing_ids(alice), "Type": "Direct"})
    link = d(alice.get(f"/sharedlinks/{d(r)['Results'][0]['Id']}"))["Results"][0]
    assert (link["Type"], link["Mode"]) == ("Direct", "Public")
    assert d(alice.post("/sharedlinks/listings", {"ListingIds": listing_ids(alice), "Type": "Direct",
                                                  "Mode": "Idx"}))["Code"] == 1053
    r = client("idxplus").post("/sharedlinks/listings", {"ListingIds": listing_ids(alice), "Type": "Direct"})
    assert (r.status_code, d(r)["Code"]) == (403, 1500)


def test_contact_ids_private_only(client) -> None:
    alice = client("alice")
    cid = d(alice.get("/contacts", _limit=1))["Results"][0]["Id"]
    r = client("vicky").post("/sharedlinks/listings", {"ListingIds": listing_ids(alice), "ContactIds": [cid]})
    assert (r.status_code, d(r)["Code"]) == (403, 1500)


def test_contact_ids_must_be_own(client) -> None:
    cid = d(client("bob").get("/contacts", _limit=1))["Results"][0]["Id"]
    alice = client("alice")
    assert d(alice.post("/sharedlinks/listings", {"ListingIds": listing_ids(alice),
                                                  "ContactIds": [cid]}))["Code"] == 1053


@pytest.mark.parametrize(("login", "status"), [("idx", 403), ("public", 403), ("idxplus", 201),
                                               ("publicplus", 201), ("vicky", 201), ("paula", 201)])
def test_write_roles(client, login, status) -> None:
    ids = listing_ids(client("alice"))
    assert client(login).post("/sharedlinks/listings", {"ListingIds": ids}).status_code == status


def test_vow_mode_is_public(client) -> None:
    vicky = client("vicky")
    r = vicky.post("/sharedlinks/listings", {"ListingIds": listing_ids(vicky), "Mode": "Vow"})
    assert d(vicky.get(f"/sharedlinks/{d(r)['Results'][0]['Id']}"))["Results"][0]["Mode"] == "Public"


def test_search_link(alice) -> None:
    search = d(alice.get("/savedsearches"))["Results"][0]
    r = alice.post("/sharedlinks/search", {"SearchId": search["Id"]})
    link = d(alice.get(f"/sharedlinks/{d(r)['Results'][0]['Id']}"))["Results"][0]
    assert link["SavedSearch"]["Id"] == search["Id"]
    assert d(alice.post("/sharedlinks/search", {"SearchId": "20990101000000000000000000"}))["Code"] == 1053


def test_all_links_private_only_ordered_by_creation(client) -> None:
    alice = client("alice")
    made = [d(alice.post("/sharedlinks/listings", {"ListingIds": listing_ids(alice, n)}))["Results"][0]["Id"]
            for n in (1, 2, 3)]
    body = d(alice.get("/sharedlinks", _pagination=1))
    assert [x["Id"] for x in body["Results"]] == made and body["Pagination"]["TotalRows"] == 3
    r = client("vicky").get("/sharedlinks")
    assert (r.status_code, d(r)["Code"]) == (403, 1500)


def test_contacts_expansion(alice) -> None:
    cid = d(alice.get("/contacts", _limit=1))["Results"][0]["Id"]
    r = alice.post("/sharedlinks/listings", {"ListingIds": listing_ids(alice), "ContactIds": [cid]})
    link = d(alice.get(f"/sharedlinks/{d(r)['Results'][0]['Id']}", _expand="Contacts"))["Results"][0]
    assert [c["Id"] for c in link["Contacts"]] == [cid]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/sharedlinks/listings"), ("PUT", "/sharedlinks/listings"), ("DELETE", "/sharedlinks/listings"),
    ("GET", "/sharedlinks/search"), ("PUT", "/sharedlinks/search"), ("DELETE", "/sharedlinks/search"),
    ("POST", "/sharedlinks"), ("PUT", "/sharedlinks"), ("DELETE", "/sharedlinks"),
    ("POST", "/sharedlinks/{id}"), ("PUT", "/sharedlinks/{id}"), ("DELETE", "/sharedlinks/{id}"),
])
def test_405s(alice, method, path) -> None:
    lid = d(alice.post("/sharedlinks/listings", {"ListingIds": listing_ids(alice)}))["Results"][0]["Id"]
    r = alice.request(method, path.replace("{id}", lid), raw_body='{"D":{}}' if method in ("POST", "PUT") else None)
    assert (r.status_code, d(r)["Code"]) == (405, 405)
