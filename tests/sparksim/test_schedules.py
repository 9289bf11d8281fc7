"""News Feed: Schedule page: both path forms, Frequency inference, value ranges, one per user/feed, WebhookId."""

from __future__ import annotations

import pytest

from tests.sparksim.client import d

OWN_HOOK = "20160101000000000000000001"
OWN_HOOK_2 = "20160101000000000000000002"
FOREIGN_HOOK = "20160101000000000000000003"


def clear_default(c, prefix: str = "") -> None:
    assert c.delete(f"{prefix}/newsfeeds/schedule").status_code == 200


def feed(c) -> dict:
    return d(c.get("/newsfeeds"))["Results"][0]


def test_default_schedule_crud(alice) -> None:
    clear_default(alice)
    r = alice.post("/newsfeeds/schedule", {"Frequency": "Instant"})
    assert r.status_code == 201
    sid = d(r)["Results"][0]["Id"]
    assert d(r)["Results"][0]["ResourceUri"] == f"/v1/newsfeeds/schedule/{sid}"
    got = d(alice.get("/newsfeeds/schedule"))["Results"]
    assert [g["Id"] for g in got] == [sid] and got[0]["NewsfeedId"] is None and got[0]["Frequency"] == "Instant"
    assert alice.put(f"/newsfeeds/schedule/{sid}", {"Frequency": "Scheduled",
                                                    "DaysOfWeek": ["Monday", "Tuesday", "Wednesday"]}).status_code == 200
    one = d(alice.get(f"/newsfeeds/schedule/{sid}"))["Results"][0]
    assert one["Frequency"] == "Scheduled" and one["DaysOfWeek"] == ["Monday", "Tuesday", "Wednesday"]
    assert alice.delete(f"/newsfeeds/schedule/{sid}").status_code == 200
    assert alice.get(f"/newsfeeds/schedule/{sid}").status_code == 404


def test_one_default_per_user(alice) -> None:
    clear_default(alice)
    assert alice.post("/newsfeeds/schedule", {"Frequency": "Instant"}).status_code == 201
    r = alice.post("/newsfeeds/schedule", {"Frequency": "Instant"})
    assert (r.status_code, d(r)["Code"]) == (409, 1055)


@pytest.mark.parametrize(("body", "frequency"), [({}, "Instant"), ({"HoursOfDay": [1]}, "Scheduled"),
                                                 ({"DaysOfWeek": ["Sunday"]}, "Scheduled"),
                                                 ({"DaysOfMonth": [1, 2]}, "Scheduled"),
                                                 ({"HoursOfDay": None}, "Instant")])
def test_frequency_inferred(alice, body, frequency) -> None:
    clear_default(alice)
    sid = d(alice.post("/newsfeeds/schedule", body))["Results"][0]["Id"]
    assert d(alice.get(f"/newsfeeds/schedule/{sid}"))["Results"][0]["Frequency"] == frequency


@pytest.mark.parametrize("body", [{"HoursOfDay": [24]}, {"HoursOfDay": [-1]}, {"HoursOfDay": ["7"]},
                                  {"DaysOfWeek": ["Someday"]}, {"DaysOfMonth": [0]}, {"DaysOfMonth": [32]},
                                  {"Frequency": "Weekly"}, {"Frequency": "Instant", "HoursOfDay": [3]},
                                  {"Id": "1"}, {"Bogus": 1}])
def test_invalid_values_are_1053(alice, body) -> None:
    clear_default(alice)
    r = alice.post("/newsfeeds/schedule", body)
    assert (r.status_code, d(r)["Code"]) == (400, 1053)


def test_valid_extremes(alice) -> None:
    clear_default(alice)
    assert alice.post("/newsfeeds/schedule", {"HoursOfDay": [0, 23], "DaysOfMonth": [1, 31],
                                              "DaysOfWeek": ["Sunday", "Saturday"]}).status_code == 201


def test_feed_schedule_both_path_forms(alice) -> None:
    f = feed(alice)
    alice.delete(f"/newsfeeds/{f['Id']}/schedule")
    r = alice.post(f"/newsfeeds/{f['Id']}/schedule", {"HoursOfDay": [1]})
    assert r.status_code == 201
    sid = d(r)["Results"][0]["Id"]
    assert d(r)["Results"][0]["ResourceUri"] == f"/v1/newsfeeds/{f['Id']}/schedule/{sid}"
    contact_id = [x for x in d(alice.get("/contacts", _limit=25))["Results"]
                  if any(ff["Id"] == f["Id"] for ff in d(alice.get(f"/contacts/{x['Id']}/newsfeeds"))["Results"])]
    cid = contact_id[0]["Id"] if contact_id else None
    if cid:
        via_contact = d(alice.get(f"/contacts/{cid}/newsfeeds/{f['Id']}/schedule"))["Results"]
        assert [s["Id"] for s in via_contact] == [sid]
        assert alice.put(f"/contacts/{cid}/newsfeeds/{f['Id']}/schedule/{sid}",
                         {"DaysOfWeek": ["Friday"]}).status_code == 200
    got = d(alice.get(f"/newsfeeds/{f['Id']}/schedule/{sid}"))["Results"][0]
    assert got["NewsfeedId"] == f["Id"]
    r = alice.post(f"/newsfeeds/{f['Id']}/schedule", {"Frequency": "Instant"})
    assert (r.status_code, d(r)["Code"]) == (409, 1055)  # one per feed
    assert alice.delete(f"/newsfeeds/{f['Id']}/schedule").status_code == 200
    assert d(alice.get(f"/newsfeeds/{f['Id']}/schedule"))["Results"] == []


def test_contact_default_schedule(alice) -> None:
    cid = d(alice.get("/contacts", _limit=1))["Results"][0]["Id"]
    alice.delete(f"/contacts/{cid}/newsfeeds/schedule")
    r = alice.post(f"/contacts/{cid}/newsfeeds/schedule", {"Frequency": "Instant"})
    sid = d(r)["Results"][0]["Id"]
    assert d(r)["Results"][0]["ResourceUri"] == f"/v1/contacts/{cid}/newsfeeds/schedule/{sid}"
    assert d(alice.get(f"/contacts/{cid}/newsfeeds/schedule/{sid}"))["Results"][0]["Id"] == sid
    assert alice.get(f"/newsfeeds/schedule/{sid}").status_code == 404  # not the agent's own default


def test_webhook_rules(alice) -> None:
    clear_default(alice)
    r = alice.post("/newsfeeds/schedule", {"WebhookId": OWN_HOOK, "Frequency": "Scheduled", "HoursOfDay": [1]})
    assert d(r)["Code"] == 1053  # must be Instant
    assert d(alice.post("/newsfeeds/schedule", {"WebhookId": FOREIGN_HOOK}))["Code"] == 1053
    sid = d(alice.post("/newsfeeds/schedule", {"WebhookId": OWN_HOOK}))["Results"][0]["Id"]
    assert alice.put(f"/newsfeeds/schedule/{sid}", {"WebhookId": OWN_HOOK_2}).status_code == 200
    assert d(alice.put(f"/newsfeeds/schedule/{sid}", {"WebhookId": FOREIGN_HOOK}))["Code"] == 1053
    assert d(alice.put(f"/newsfeeds/schedule/{sid}", {"HoursOfDay": [5]}))["Code"] == 1053
    clear_default(alice)
    sid = d(alice.post("/newsfeeds/schedule", {"Frequency": "Instant"}))["Results"][0]["Id"]
    r = alice.put(f"/newsfeeds/schedule/{sid}", {"WebhookId": OWN_HOOK})
    assert d(r)["Code"] == 1053  # cannot be added to an existing schedule


@pytest.mark.parametrize(("method", "path"), [("PUT", "/newsfeeds/schedule"), ("POST", "/newsfeeds/schedule/{sid}"),
                                              ("PUT", "/newsfeeds/{fid}/schedule"),
                                              ("POST", "/newsfeeds/{fid}/schedule/{sid}")])
def test_405s(alice, method, path) -> None:
    f = feed(alice)
    path = path.replace("{fid}", f["Id"]).replace("{sid}", "20160707121206000000000000")
    r = alice.request(method, path, raw_body='{"D":{}}')
    assert (r.status_code, d(r)["Code"]) == (405, 405)


@pytest.mark.parametrize(("login", "allowed"), [("idx", False), ("public", False), ("vicky", True),
                                                ("paula", True)])
def test_roles(client, login, allowed) -> None:
    r = client(login).get("/newsfeeds/schedule")
    assert (r.status_code == 200) is allowed
    if not allowed:
        assert d(r)["Code"] == 1500


def test_consumer_manages_own_default(client) -> None:
    paula = client("paula")
    paula.delete("/newsfeeds/schedule")
    r = paula.post("/newsfeeds/schedule", {"DaysOfWeek": ["Monday"]})
    assert r.status_code == 201 and "/contacts/" in d(r)["Results"][0]["ResourceUri"]


def test_new_feed_creates_instant_default_schedule(alice) -> None:
    cid = d(alice.get("/contacts", _limit=1, _page=4))["Results"][0]["Id"]
    alice.delete(f"/contacts/{cid}/newsfeeds/schedule")
    search = d(alice.get("/savedsearches"))["Results"][0]["Id"]
    assert alice.post(f"/contacts/{cid}/newsfeeds", {"Name": "Auto", "SavedSearchId": search}).status_code == 201
    got = d(alice.get(f"/contacts/{cid}/newsfeeds/schedule"))["Results"]
    assert [g["Frequency"] for g in got] == ["Instant"]
