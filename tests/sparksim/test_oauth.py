"""OAuth 2: login page, authorization-code and refresh grants, OAuth/Bearer headers, expiry (notes §1b)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.sparksim.client import OAuthClient, d

REDIRECT = "http://crm.example.test/spark/callback"


def authorize(sim, client_id: str, login: str, password: str, state: str = "xyz") -> requests.Response:
    return requests.post(f"{sim.url}/oauth2", data={
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "state": state,
        "login": login, "password": password}, allow_redirects=False, timeout=5)


def grant(sim, body: dict) -> requests.Response:
    return requests.post(f"{sim.url}/v1/oauth2/grant", json=body, timeout=5)


@pytest.fixture
def oauth_client(sim) -> dict:
    return sim.control("GET", "/_sim/accounts").json()["oauth_client"]


def code_for(sim, oauth_client, login: str, password: str | None = None) -> str:
    r = authorize(sim, oauth_client["client_id"], login, password or f"{login}-demo")
    assert r.status_code == 302
    return parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]


def tokens_for(sim, oauth_client, login: str) -> dict:
    code = code_for(sim, oauth_client, login)
    r = grant(sim, {**oauth_client, "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})
    assert r.status_code == 200
    return r.json()


def test_login_page_lists_a_form(sim, oauth_client) -> None:
    r = requests.get(f"{sim.url}/oauth2", params={"response_type": "code", "client_id": oauth_client["client_id"],
                                                   "redirect_uri": REDIRECT, "state": "s"}, timeout=5)
    assert r.status_code == 200
    assert 'name="login"' in r.text and 'name="password"' in r.text and "alice" in r.text


def test_login_page_rejects_unknown_client(sim) -> None:
    r = requests.get(f"{sim.url}/oauth2", params={"response_type": "code", "client_id": "nope",
                                                   "redirect_uri": REDIRECT}, timeout=5)
    assert r.status_code == 400


def test_wrong_password_stays_on_page(sim, oauth_client) -> None:
    r = authorize(sim, oauth_client["client_id"], "alice", "wrong")
    assert r.status_code == 401 and "wrong password" in r.text


def test_login_redirects_with_code_and_state(sim, oauth_client) -> None:
    r = authorize(sim, oauth_client["client_id"], "alice", "alice-demo", state="st4te")
    assert r.status_code == 302
    loc = urlsplit(r.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == REDIRECT
    q = parse_qs(loc.query)
    assert q["state"] == ["st4te"] and q["code"][0]


def test_code_grant_returns_plain_tokens(sim, oauth_client) -> None:
    body = tokens_for(sim, oauth_client, "alice")
    assert set(body) == {"access_token", "refresh_token", "expires_in"}
    assert body["expires_in"] > 0


@pytest.mark.parametrize("scheme", ["OAuth", "Bearer"])
def test_data_requests_with_oauth_or_bearer(sim, oauth_client, accounts, scheme) -> None:
    t = tokens_for(sim, oauth_client, "alice")
    c = OAuthClient(sim.url, t["access_token"], scheme)
    r = c.get("/contacts", _limit=2)
    assert r.status_code == 200
    assert {x["OwnerId"] for x in d(r)["Results"]} == {accounts["alice"]["user_id"]}


def test_code_is_single_use(sim, oauth_client) -> None:
    code = code_for(sim, oauth_client, "bob")
    body = {**oauth_client, "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert grant(sim, body).status_code == 200
    r = grant(sim, body)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_code_needs_matching_redirect_uri(sim, oauth_client) -> None:
    code = code_for(sim, oauth_client, "bob")
    r = grant(sim, {**oauth_client, "grant_type": "authorization_code", "code": code,
                    "redirect_uri": "http://elsewhere.test/cb"})
    assert r.json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_invalid_client(sim, oauth_client) -> None:
    code = code_for(sim, oauth_client, "bob")
    r = grant(sim, {"client_id": oauth_client["client_id"], "client_secret": "bad", "grant_type":
                    "authorization_code", "code": code, "redirect_uri": REDIRECT})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_refresh_grant_rotates_tokens(sim, oauth_client) -> None:
    t = tokens_for(sim, oauth_client, "carol")
    body = {**oauth_client, "grant_type": "refresh_token", "refresh_token": t["refresh_token"],
            "redirect_uri": REDIRECT}
    r = grant(sim, body)
    assert r.status_code == 200
    new = r.json()
    assert new["access_token"] != t["access_token"]
    assert OAuthClient(sim.url, new["access_token"]).get("/contacts").status_code == 200
    assert grant(sim, body).json()["error"] == "invalid_grant"


def test_expired_access_token_is_1020_then_refresh_works(sim, oauth_client) -> None:
    t = tokens_for(sim, oauth_client, "alice")
    c = OAuthClient(sim.url, t["access_token"])
    sim.expire_tokens()
    r = c.get("/contacts")
    assert (r.status_code, d(r)["Code"]) == (401, 1020)
    r = grant(sim, {**oauth_client, "grant_type": "refresh_token", "refresh_token": t["refresh_token"]})
    assert OAuthClient(sim.url, r.json()["access_token"]).get("/contacts").status_code == 200


def test_unknown_access_token_is_1000(sim) -> None:
    r = OAuthClient(sim.url, "nosuchtoken").get("/contacts")
    assert (r.status_code, d(r)["Code"]) == (401, 1000)


def test_grant_body_must_be_json(sim, oauth_client) -> None:
    r = requests.post(f"{sim.url}/v1/oauth2/grant", data={**oauth_client, "grant_type": "password"}, timeout=5)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_portal_consumer_login_gets_portal_role(sim, oauth_client, accounts) -> None:
    t = tokens_for(sim, oauth_client, "paula")
    c = OAuthClient(sim.url, t["access_token"])
    me = d(c.get("/my/contact"))["Results"][0]
    assert me["Id"] == accounts["paula"]["contact_id"]
    assert d(c.get("/contacts"))["Code"] == 1500


def test_revoke_access_token(sim, oauth_client) -> None:
    t = tokens_for(sim, oauth_client, "dave")
    c = OAuthClient(sim.url, t["access_token"])
    assert c.request("DELETE", f"/oauth2/token/{t['access_token']}").status_code == 200
    assert d(c.get("/contacts"))["Code"] == 1000


def test_grant_success_is_not_d_wrapped_and_failure_has_error(sim, oauth_client) -> None:
    r = grant(sim, {**oauth_client, "grant_type": "magic"})
    assert "D" not in r.json() and r.json()["error"] == "unsupported_grant_type"
