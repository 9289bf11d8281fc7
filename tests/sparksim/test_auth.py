"""API-key sessions, request signing, ApiUser and wire details (spark-api-notes §1a, §2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import requests

from tests.sim import start_sim
from tests.sparksim.client import USER_AGENT, SparkClient, d, md5, sign


def test_session_shape_and_future_expiry(alice) -> None:
    result = alice.login()
    assert re.fullmatch(r"[0-9a-f]{32}", result["AuthToken"])
    assert datetime.fromisoformat(result["Expires"]) > datetime.now(UTC)
    assert result["Roles"] == ["private"]


def test_session_bad_signature_is_401_1000(sim, accounts) -> None:
    a = accounts["alice"]
    r = requests.post(f"{sim.url}/v1/session", params={"ApiKey": a["api_key"], "ApiSig": "0" * 32},
                      headers={"X-SparkApi-User-Agent": USER_AGENT}, timeout=5)
    assert r.status_code == 401
    assert d(r) == {"Success": False, "Code": 1000, "Message": "Invalid API key and/or request signed improperly"}


def test_session_unknown_key_is_401_1000(sim) -> None:
    r = requests.post(f"{sim.url}/v1/session", params={"ApiKey": "nope", "ApiSig": md5("xApiKeynope")},
                      headers={"X-SparkApi-User-Agent": USER_AGENT}, timeout=5)
    assert (r.status_code, d(r)["Code"]) == (401, 1000)


def test_request_with_bad_signature_is_401_1000(alice) -> None:
    alice.login()
    r = alice.http.get(f"{alice.base}/v1/contacts", params={"AuthToken": alice.token, "ApiSig": "0" * 32})
    assert (r.status_code, d(r)["Code"]) == (401, 1000)


def test_unknown_token_is_401_1000(alice) -> None:
    alice.login()
    alice.token = "f" * 32
    assert (alice.get("/contacts").status_code, d(alice.get("/contacts"))["Code"]) == (401, 1000)


def test_no_credentials_is_401(sim) -> None:
    r = requests.get(f"{sim.url}/v1/contacts", headers={"X-SparkApi-User-Agent": USER_AGENT}, timeout=5)
    assert (r.status_code, d(r)["Code"]) == (401, 1000)


def test_expired_session_is_401_1020_and_a_new_session_works(sim, alice) -> None:
    assert alice.get("/contacts").status_code == 200
    sim.expire_tokens()
    r = alice.get("/contacts")
    assert (r.status_code, d(r)) == (401, {"Success": False, "Code": 1020, "Message": "Session token has expired"})
    alice.login()
    assert alice.get("/contacts").status_code == 200


def test_one_live_token_per_key_previous_token_expires(client) -> None:
    first = client("alice")
    first.login()
    second = client("alice")
    second.login()
    assert second.get("/contacts").status_code == 200
    r = first.get("/contacts")
    assert (r.status_code, d(r)["Code"]) == (401, 1020)


def test_session_ttl_expiry() -> None:
    sim = start_sim(contacts_per_agent=2, extra_args=("--session-ttl", "1"))
    try:
        c = SparkClient(sim.url, sim.account("alice"))
        assert c.get("/contacts").status_code == 200
        import time
        time.sleep(1.2)
        assert d(c.get("/contacts"))["Code"] == 1020
    finally:
        sim.stop()


def test_signature_over_escaped_or_unescaped_path(client) -> None:
    for escaped in (False, True):
        c = client("alice", escape_path=escaped)
        assert c.get("/contacts/tags/IDX Lead").status_code == 200
        r = c.request("GET", "/contacts/tags/IDX Lead", sign_path="/v1/contacts/tags/IDX%20Lead")
        assert r.status_code == 200
        r = c.request("GET", "/contacts/tags/IDX Lead", sign_path="/v1/contacts/tags/IDX Lead")
        assert r.status_code == 200


def test_params_in_any_order(alice) -> None:
    alice.login()
    params = {"_page": "2", "AuthToken": alice.token, "_limit": "3", "_pagination": "1"}
    params["ApiSig"] = sign(alice.secret, alice.key, "/v1/contacts", params)
    query = "&".join(f"{k}={v}" for k, v in reversed(list(params.items())))
    r = alice.http.get(f"{alice.base}/v1/contacts?{query}")
    assert r.status_code == 200
    assert d(r)["Pagination"]["CurrentPage"] == 2


def test_body_is_signed_for_post_and_put(alice) -> None:
    body = '{"D":{"DisplayName":"Signed Body"}}'
    alice.login()
    params = {"AuthToken": alice.token}
    params["ApiSig"] = sign(alice.secret, alice.key, "/v1/contacts", params, '{"D":{"DisplayName":"Other"}}')
    r = alice.http.post(f"{alice.base}/v1/contacts", params=params, data=body,
                        headers={"Content-Type": "application/json"})
    assert (r.status_code, d(r)["Code"]) == (401, 1000)
    assert alice.request("POST", "/contacts", raw_body=body).status_code == 201


def test_header_names_are_case_insensitive(alice) -> None:
    alice.login()
    alice.http.headers.pop("X-SparkApi-User-Agent")
    r = alice.request("POST", "/contacts", raw_body='{"D":{"DisplayName":"Case Test"}}',
                      headers={"x-sparkapi-user-agent": "lower", "content-type": "application/json"})
    assert r.status_code == 201


def test_user_agent_header_required_1016(alice) -> None:
    alice.login()
    alice.http.headers.pop("X-SparkApi-User-Agent")
    r = alice.get("/contacts")
    assert (r.status_code, d(r)["Code"]) == (400, 1016)


def test_every_response_has_a_request_id(sim, alice) -> None:
    assert alice.get("/contacts").headers["X-Request-Id"]
    assert requests.get(f"{sim.url}/v1/nothing", timeout=5).headers["X-Request-Id"]
    assert requests.get(f"{sim.url}/_sim/health", timeout=5).headers["X-Request-Id"]


def test_session_other_methods_are_405(sim, alice) -> None:
    alice.login()
    r = requests.delete(f"{sim.url}/v1/session/{alice.token}", headers={"X-SparkApi-User-Agent": "x"}, timeout=5)
    assert (r.status_code, d(r)["Code"]) == (405, 405)
    for method in ("GET", "PUT", "DELETE"):
        r = requests.request(method, f"{sim.url}/v1/session", headers={"X-SparkApi-User-Agent": "x"}, timeout=5)
        assert (r.status_code, d(r)["Success"]) == (405, False)


def test_mls_admin_acts_for_agent_with_apiuser(client, accounts) -> None:
    mona = client("mona", api_user=accounts["alice"]["user_id"])
    rows = d(mona.get("/contacts", _limit=25))["Results"]
    assert rows and {r["OwnerId"] for r in rows} == {accounts["alice"]["user_id"]}
    me = d(mona.get("/my/account"))["Results"][0]
    assert me["Id"] == accounts["alice"]["user_id"]


def test_agent_key_cannot_act_for_another_user_1015(client, accounts) -> None:
    bob = client("bob", api_user=accounts["alice"]["user_id"])
    r = bob.get("/contacts")
    assert (r.status_code, d(r)["Code"]) == (403, 1015)
    assert client("bob", api_user=accounts["bob"]["user_id"]).get("/contacts").status_code == 200


def test_mls_admin_apiuser_unknown_user_1015(client) -> None:
    r = client("mona", api_user="20990101000000000000000000").get("/contacts")
    assert (r.status_code, d(r)["Code"]) == (403, 1015)


def test_unknown_path_is_404_in_envelope(alice) -> None:
    r = alice.get("/nothing/here")
    assert r.status_code == 404 and d(r)["Success"] is False
