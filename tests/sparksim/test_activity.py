"""Contacts: Activity page: summary, listings viewed/shared, consistency with Score, roles, 405s."""

from __future__ import annotations

import pytest

from tests.sparksim.client import d

WEIGHTS = {"ManualEmailsOpened": 10, "SubscriptionEmailsOpened": 5, "ListingsViewed": 3, "ListingsShared": 8}


def top_contact(alice) -> dict:
    return d(alice.get("/contacts", _limit=1, _orderby="-Score", _expand="Activity"))["Results"][0]


def test_summary_shape_and_consistency_with_score(alice) -> None:
    c = top_contact(alice)
    s = d(alice.get(f"/contacts/{c['Id']}/activity"))["Results"][0]
    assert set(s) == {"ManualEmailsOpened", "ManualEmailsSent", "SubscriptionEmailsOpened",
                      "SubscriptionEmailsSent", "ListingsViewed", "ListingsShared"}
    assert s["ManualEmailsOpened"] <= s["ManualEmailsSent"]
    assert s["SubscriptionEmailsOpened"] <= s["SubscriptionEmailsSent"]
    assert sum(WEIGHTS[k] * s[k] for k in WEIGHTS) == c["Activity"]["Score"]


@pytest.mark.parametrize(("which", "field"), [("viewed", "ListingsViewed"), ("shared", "ListingsShared")])
def test_listings_match_counts(alice, which, field) -> None:
    c = top_contact(alice)
    s = d(alice.get(f"/contacts/{c['Id']}/activity"))["Results"][0]
    r = d(alice.get(f"/contacts/{c['Id']}/activity/listings/{which}", _pagination=1, _limit=25))
    assert r["Pagination"]["TotalRows"] == s[field]
    assert all(x["ResourceUri"].startswith("/v1/listings/") and "StandardFields" in x for x in r["Results"])


def test_contact_activity_expansion(alice) -> None:
    c = top_contact(alice)
    r = d(alice.get(f"/contacts/{c['Id']}/activity/listings/viewed", _expand="ContactActivity"))["Results"]
    assert all(x["ContactActivity"]["Viewed"] for x in r)


@pytest.mark.parametrize("login", ["idx", "public", "vicky", "paula"])
def test_private_only(client, alice, login) -> None:
    c = top_contact(alice)
    r = client(login).get(f"/contacts/{c['Id']}/activity")
    assert (r.status_code, d(r)["Code"]) == (403, 1500)


@pytest.mark.parametrize("suffix", ["activity", "activity/listings/viewed", "activity/listings/shared"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_405s(alice, suffix, method) -> None:
    c = top_contact(alice)
    r = alice.request(method, f"/contacts/{c['Id']}/{suffix}", raw_body='{"D":{}}' if method != "DELETE" else None)
    assert (r.status_code, d(r)["Code"]) == (405, 405)


def test_other_agents_contact_is_404(client) -> None:
    c = top_contact(client("bob"))
    assert client("alice").get(f"/contacts/{c['Id']}/activity").status_code == 404
