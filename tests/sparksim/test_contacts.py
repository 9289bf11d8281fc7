"""Contacts page: every URI and method, validation rules, transfer, unconnected contacts (contacts.txt)."""

from __future__ import annotations

import time

import pytest

from tests.sparksim.client import d


def first_contact(c) -> dict:
    return d(c.get("/contacts", _limit=1))["Results"][0]


# ---- reads -------------------------------------------------------------------------------------------------------

def test_list_shape(alice, accounts) -> None:
    body = d(alice.get("/contacts"))
    assert body["Success"] is True and "Pagination" not in body
    assert len(body["Results"]) == 10  # default _limit
    rec = body["Results"][0]
    assert rec["ResourceUri"] == f"/v1/contacts/{rec['Id']}"
    assert len(rec["Id"]) == 26 and rec["Id"].isdigit()
    assert {"DisplayName", "PrimaryEmail", "Tags", "ModificationTimestamp"} <= set(rec)
    assert rec["OwnerId"] == accounts["alice"]["user_id"]


def test_pagination_block(alice) -> None:
    p = d(alice.get("/contacts", _limit=25, _pagination=1))["Pagination"]
    assert p == {"TotalRows": 60, "PageSize": 25, "TotalPages": 3, "CurrentPage": 1}
    last = d(alice.get("/contacts", _limit=25, _page=3, _pagination=1))
    assert len(last["Results"]) == 10 and last["Pagination"]["CurrentPage"] == 3


def test_pagination_count_has_no_results(alice) -> None:
    body = d(alice.get("/contacts", _pagination="count"))
    assert body["Results"] == [] and body["Pagination"]["TotalRows"] == 60


def test_pages_do_not_overlap(alice) -> None:
    ids = []
    for page in (1, 2, 3):
        ids += [r["Id"] for r in d(alice.get("/contacts", _limit=25, _page=page))["Results"]]
    assert len(ids) == len(set(ids)) == 60


def test_page_past_the_end_is_empty(alice) -> None:
    assert d(alice.get("/contacts", _limit=25, _page=9))["Results"] == []


@pytest.mark.parametrize(("param", "value"), [("_limit", 26), ("_limit", 0), ("_limit", "x"), ("_page", 0),
                                              ("_pagination", "2")])
def test_out_of_range_paging_is_1053(alice, param, value) -> None:
    r = alice.get("/contacts", **{param: value})
    assert (r.status_code, d(r)["Code"]) == (400, 1053)


def test_get_one(alice) -> None:
    c = first_contact(alice)
    got = d(alice.get(f"/contacts/{c['Id']}"))["Results"][0]
    assert got["Id"] == c["Id"] and got["ResourceUri"] == c["ResourceUri"]


def test_another_agents_contact_is_404(client) -> None:
    c = first_contact(client("bob"))
    r = client("alice").get(f"/contacts/{c['Id']}")
    assert (r.status_code, d(r)["Code"]) == (404, 404)


def test_unconnected_only_in_unconnected(alice) -> None:
    unconnected = d(alice.get("/contacts/unconnected", _limit=25))["Results"]
    assert unconnected and {r["RecordStatus"] for r in unconnected} == {"Unconnected"}
    connected = {r["Id"] for p in (1, 2, 3) for r in d(alice.get("/contacts", _limit=25, _page=p))["Results"]}
    assert not connected & {r["Id"] for r in unconnected}


# ---- 405s -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("PUT", "/contacts"), ("DELETE", "/contacts"),
    ("POST", "/contacts/unconnected"), ("PUT", "/contacts/unconnected"), ("DELETE", "/contacts/unconnected"),
    ("POST", "/contacts/{id}"),
    ("POST", "/my/contact"), ("DELETE", "/my/contact"),
    ("PUT", "/contacts/tags/Buyer"), ("POST", "/contacts/tags/Buyer"),
    ("PUT", "/contacts/tags"), ("DELETE", "/contacts/tags"),
])
def test_documented_405s(alice, method, path) -> None:
    path = path.replace("{id}", first_contact(alice)["Id"])
    r = alice.request(method, path, raw_body='{"D":{}}' if method in ("POST", "PUT") else None)
    assert r.status_code == 405
    assert d(r)["Success"] is False and d(r)["Code"] == 405


# ---- create ---------------------------------------------------------------------------------------------------------

def test_create_flat_body(alice) -> None:
    r = alice.post("/contacts", {"DisplayName": "My Contact", "PrimaryEmail": "mycontact@sparkplatform.com"})
    assert r.status_code == 201
    res = d(r)["Results"][0]
    assert res["ResourceUri"] == f"/v1/contacts/{res['Id']}"
    got = d(alice.get(f"/contacts/{res['Id']}"))["Results"][0]
    assert got["DisplayName"] == "My Contact" and got["RecordStatus"] == "Connected"


def test_create_legacy_contacts_array_with_notify(alice) -> None:
    r = alice.post("/contacts", {"Contacts": [{"DisplayName": "Contact Four",
                                               "PrimaryEmail": "contact4@fbsdata.com"}], "Notify": True})
    assert r.status_code == 201 and d(r)["Results"][0]["Id"]


@pytest.mark.parametrize("body", [{"PrimaryEmail": "x@example.com"}, {"DisplayName": ""},
                                  {"Contacts": [{}]}])
def test_display_name_required(alice, body) -> None:
    r = alice.post("/contacts", body)
    assert (r.status_code, d(r)["Code"]) == (400, 1050)


@pytest.mark.parametrize(("field", "limit"), [("DisplayName", 75), ("PrimaryEmail", 75), ("GivenName", 300),
                                              ("HomeStreetAddress", 300), ("Note", 10_000),
                                              ("MobilePhoneCountryCode", 2)])
def test_max_lengths(alice, field, limit) -> None:
    base = {"DisplayName": "Length Test"}
    value = "a" * limit if field != "PrimaryEmail" else "a" * (limit - 12) + "@example.com"
    assert alice.post("/contacts", {**base, field: value}).status_code == 201
    r = alice.post("/contacts", {**base, field: value + "b"})
    assert (r.status_code, d(r)["Code"]) == (400, 1053)
    assert field in d(r)["Details"][0]


def test_tag_length_limit(alice) -> None:
    assert alice.post("/contacts", {"DisplayName": "T", "Tags": ["x" * 75]}).status_code == 201
    r = alice.post("/contacts", {"DisplayName": "T", "Tags": ["x" * 76]})
    assert (r.status_code, d(r)["Code"]) == (400, 1053)


def test_duplicate_primary_email_is_409_1055(alice) -> None:
    email = first_contact(alice)["PrimaryEmail"]
    r = alice.post("/contacts", {"DisplayName": "Dup", "PrimaryEmail": email.upper()})
    assert r.status_code == 409
    assert d(r) == {"Success": False, "Code": 1055,
                    "Message": f"The e-mail address '{email.upper()}' belongs to another prospect"}


def test_same_email_for_another_agent_is_fine(client) -> None:
    email = first_contact(client("alice"))["PrimaryEmail"]
    assert client("bob").post("/contacts", {"DisplayName": "Shared", "PrimaryEmail": email}).status_code == 201


@pytest.mark.parametrize("field", ["Id", "ResourceUri", "ModificationTimestamp", "CreatedTimestamp",
                                   "InvalidEmails", "VowActive", "PortalLoginName", "OwnerId"])
def test_read_only_fields_refused(alice, field) -> None:
    r = alice.post("/contacts", {"DisplayName": "RO", field: "x"})
    assert (r.status_code, d(r)["Code"]) == (400, 1053)
    assert d(r)["Errors"][0]["Attribute"] == field and field in d(r)["Details"][0]


def test_unknown_attribute_refused(alice) -> None:
    assert d(alice.post("/contacts", {"DisplayName": "X", "Favourite": "y"}))["Code"] == 1053


def test_body_must_be_json_1035(alice) -> None:
    r = alice.request("POST", "/contacts", raw_body="{not json")
    assert (r.status_code, d(r)["Code"]) == (400, 1035)
    r = alice.request("POST", "/contacts", raw_body='{"D":{"DisplayName":"x"}}',
                      headers={"Content-Type": "text/plain"})
    assert (r.status_code, d(r)["Code"]) == (400, 1035)


# ---- update / delete ------------------------------------------------------------------------------------------------

def test_put_updates_and_moves_modification_timestamp(alice) -> None:
    c = first_contact(alice)
    r = alice.put(f"/contacts/{c['Id']}", {"PrimaryPhoneNumber": "555-555-5555", "ReferredBy": "Mr. Crowley"})
    assert r.status_code == 200 and d(r) == {"Success": True}
    got = d(alice.get(f"/contacts/{c['Id']}"))["Results"][0]
    assert got["PrimaryPhoneNumber"] == "555-555-5555" and got["ReferredBy"] == "Mr. Crowley"
    assert got["ModificationTimestamp"] > c["ModificationTimestamp"]
    alice.put(f"/contacts/{c['Id']}", {"Tags": ["Buyer"]})
    again = d(alice.get(f"/contacts/{c['Id']}"))["Results"][0]
    assert again["ModificationTimestamp"] > got["ModificationTimestamp"]
    assert again["Tags"] == ["Buyer"]


def test_put_validates_like_create(alice) -> None:
    c = first_contact(alice)
    assert d(alice.put(f"/contacts/{c['Id']}", {"GivenName": "x" * 301}))["Code"] == 1053
    assert d(alice.put(f"/contacts/{c['Id']}", {"Id": "1"}))["Code"] == 1053


def test_put_duplicate_email_is_1055(alice) -> None:
    rows = d(alice.get("/contacts", _limit=2))["Results"]
    r = alice.put(f"/contacts/{rows[0]['Id']}", {"PrimaryEmail": rows[1]["PrimaryEmail"]})
    assert (r.status_code, d(r)["Code"]) == (409, 1055)


def test_record_status_never_back_to_unconnected(alice) -> None:
    c = first_contact(alice)
    r = alice.put(f"/contacts/{c['Id']}", {"RecordStatus": "Unconnected"})
    assert (r.status_code, d(r)["Code"]) == (400, 1053)


def test_unconnected_can_be_connected_by_put(alice) -> None:
    u = d(alice.get("/contacts/unconnected", _limit=1))["Results"][0]
    assert alice.put(f"/contacts/{u['Id']}", {"RecordStatus": "Connected"}).status_code == 200
    assert d(alice.get(f"/contacts/{u['Id']}"))["Results"][0]["RecordStatus"] == "Connected"


def test_delete(alice) -> None:
    c = first_contact(alice)
    assert d(alice.delete(f"/contacts/{c['Id']}")) == {"Success": True}
    assert alice.get(f"/contacts/{c['Id']}").status_code == 404
    assert d(alice.get("/contacts", _pagination="count"))["Pagination"]["TotalRows"] == 59


# ---- transfer -------------------------------------------------------------------------------------------------------

def test_transfer_within_office(client, accounts) -> None:
    alice, bob = client("alice"), client("bob")
    c = first_contact(alice)
    r = alice.put(f"/contacts/{c['Id']}", {"OwnerId": accounts["bob"]["user_id"]})
    assert r.status_code == 200
    assert alice.get(f"/contacts/{c['Id']}").status_code == 404
    got = d(bob.get(f"/contacts/{c['Id']}"))["Results"][0]
    assert got["OwnerId"] == accounts["bob"]["user_id"] and got["ModificationTimestamp"] > c["ModificationTimestamp"]


def test_transfer_only_owner_id(alice, accounts) -> None:
    c = first_contact(alice)
    r = alice.put(f"/contacts/{c['Id']}", {"OwnerId": accounts["bob"]["user_id"], "DisplayName": "x"})
    assert (r.status_code, d(r)["Code"]) == (400, 1053)


def test_agent_cannot_transfer_outside_office(alice, accounts) -> None:
    c = first_contact(alice)
    r = alice.put(f"/contacts/{c['Id']}", {"OwnerId": accounts["dave"]["user_id"]})
    assert (r.status_code, d(r)["Code"]) == (403, 1500)
    assert "own office" in d(r)["Message"]


def test_transfer_to_unknown_owner(alice) -> None:
    c = first_contact(alice)
    assert d(alice.put(f"/contacts/{c['Id']}", {"OwnerId": "20990101000000000000000000"}))["Code"] == 1053


def test_mls_admin_transfers_anywhere(client, accounts) -> None:
    c = first_contact(client("alice"))
    mona = client("mona")
    assert mona.put(f"/contacts/{c['Id']}", {"OwnerId": accounts["dave"]["user_id"]}).status_code == 200
    assert d(client("dave").get(f"/contacts/{c['Id']}"))["Results"][0]["OwnerId"] == accounts["dave"]["user_id"]


def test_transfer_connects_unconnected_contact(client, accounts) -> None:
    alice = client("alice")
    u = d(alice.get("/contacts/unconnected", _limit=1))["Results"][0]
    assert alice.put(f"/contacts/{u['Id']}", {"OwnerId": accounts["carol"]["user_id"]}).status_code == 200
    got = d(client("carol").get(f"/contacts/{u['Id']}"))["Results"][0]
    assert got["RecordStatus"] == "Connected"
    ids = {r["Id"] for r in d(client("carol").get("/contacts", _filter=f"Id Eq '{u['Id']}'"))["Results"]}
    assert u["Id"] in ids


def test_agent_cannot_transfer_someone_elses_contact(client, accounts) -> None:
    c = first_contact(client("bob"))
    r = client("alice").put(f"/contacts/{c['Id']}", {"OwnerId": accounts["alice"]["user_id"]})
    assert r.status_code == 404


# ---- my/contact -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("login", ["vicky", "paula"])
def test_my_contact_for_consumers(client, accounts, login) -> None:
    c = client(login)
    me = d(c.get("/my/contact"))["Results"][0]
    assert me["Id"] == accounts[login]["contact_id"]
    r = c.put("/my/contact", {"PrimaryEmail": f"new-{login}@example.org",
                              "HomeStreetAddress": "1405 Main Street\nApt 112"})
    assert r.status_code == 200
    me2 = d(c.get("/my/contact"))["Results"][0]
    assert me2["HomeStreetAddress"] == "1405 Main Street\nApt 112"
    assert me2["ModificationTimestamp"] > me["ModificationTimestamp"]


def test_my_contact_put_limited_attributes(client) -> None:
    assert d(client("paula").put("/my/contact", {"Tags": ["VIP"]}))["Code"] == 1053


def test_my_contact_not_for_agents(alice) -> None:
    assert d(alice.get("/my/contact"))["Code"] == 1500


def test_edit_elsewhere_moves_timestamp(sim, alice) -> None:
    c = first_contact(alice)
    time.sleep(0.01)
    sim.control("PATCH", f"/_sim/contacts/{c['Id']}", json={"GivenName": "Changed"})
    got = d(alice.get(f"/contacts/{c['Id']}"))["Results"][0]
    assert got["GivenName"] == "Changed" and got["ModificationTimestamp"] > c["ModificationTimestamp"]
