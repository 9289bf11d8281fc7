"""Control API faults, rate limit, token expiry and the request log."""

from __future__ import annotations

import time

import requests

from tests.sparksim.client import d


def test_latency(sim, alice) -> None:
    alice.login()
    sim.faults(latency_ms=300, jitter_ms=50)
    t = time.monotonic()
    assert alice.get("/contacts").status_code == 200
    assert time.monotonic() - t >= 0.3


def test_error_rate_with_status_and_code(sim, alice) -> None:
    alice.login()
    sim.faults(error_rate=1.0, error_status=500, error_code=1026)
    r = alice.get("/contacts")
    assert (r.status_code, d(r)["Code"], d(r)["Success"]) == (500, 1026, False)
    sim.faults(error_rate=1.0, error_status=503)
    assert (alice.get("/contacts").status_code, d(alice.get("/contacts"))["Code"]) == (503, 1510)
    sim.clear_faults()
    assert alice.get("/contacts").status_code == 200


def test_error_rate_fraction(sim, alice) -> None:
    alice.login()
    sim.faults(error_rate=0.5)
    statuses = [alice.get("/contacts").status_code for _ in range(40)]
    assert 5 < statuses.count(500) < 35


def test_outage(sim, alice) -> None:
    alice.login()
    sim.faults(outage_s=0.5)
    r = alice.get("/contacts")
    assert (r.status_code, d(r)["Code"]) == (503, 1510)
    time.sleep(0.6)
    assert alice.get("/contacts").status_code == 200


def test_hang_until_client_timeout(sim, alice) -> None:
    alice.login()
    sim.faults(hang_rate=1.0)
    try:
        alice.request("GET", "/contacts", timeout=0.5)
        raise AssertionError("expected a timeout")
    except requests.Timeout:
        pass
    finally:
        sim.clear_faults()
    assert alice.get("/contacts").status_code == 200


def test_rate_limit_429_1550_with_retry_after(sim, client) -> None:
    alice, bob = client("alice"), client("bob")
    alice.login()
    bob.login()
    sim.faults(rate_limit={"requests": 3, "window_s": 2})
    assert [alice.get("/contacts").status_code for _ in range(3)] == [200, 200, 200]
    r = alice.get("/contacts")
    assert (r.status_code, d(r)["Code"]) == (429, 1550)
    assert 1 <= int(r.headers["Retry-After"]) <= 2
    assert bob.get("/contacts").status_code == 200  # per key
    time.sleep(2.1)
    assert alice.get("/contacts").status_code == 200


def test_default_rate_limit_is_1500_per_5_minutes(sim) -> None:
    got = sim.control("GET", "/_sim/faults").json()["faults"]["rate_limit"]
    assert got == {"requests": 1500, "window_s": 300.0}


def test_reset_clears_faults_and_rate_counters(sim, alice) -> None:
    alice.login()
    sim.faults(rate_limit={"requests": 1, "window_s": 60}, error_rate=0.0)
    alice.get("/contacts")
    assert alice.get("/contacts").status_code == 429
    sim.reset()
    assert alice.get("/contacts").status_code == 200  # tokens survive a reset


def test_bad_fault_is_400(sim) -> None:
    r = requests.post(f"{sim.url}/_sim/faults", json={"error_rate": 2}, timeout=5)
    assert r.status_code == 400
    assert requests.post(f"{sim.url}/_sim/faults", json={"nope": 1}, timeout=5).status_code == 400


def test_expire_tokens(sim, alice) -> None:
    alice.login()
    sim.expire_tokens()
    assert d(alice.get("/contacts"))["Code"] == 1020


def test_request_log(sim, alice, accounts) -> None:
    start = sim.last_seq()
    alice.get("/contacts", _limit=2)
    alice.get("/contacts", _limit=99)
    log = sim.requests_since(start)
    assert [e["path"] for e in log] == ["/v1/session", "/v1/contacts", "/v1/contacts"]
    ok, bad = log[1], log[2]
    assert ok["status"] == 200 and ok["code"] is None and ok["user_id"] == accounts["alice"]["user_id"]
    assert ok["api_key"] == accounts["alice"]["api_key"] and ok["method"] == "GET"
    assert (bad["status"], bad["code"]) == (400, 1053)
    assert ok["query"]["AuthToken"] == "***" and ok["query"]["ApiSig"] == "***"
    assert all(e["seq"] > start for e in log) and sim.requests_since(log[-1]["seq"]) == []
    assert accounts["alice"]["api_secret"] not in str(log)
