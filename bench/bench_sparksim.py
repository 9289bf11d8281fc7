"""Benchmark sparksim at scale: startup time, in-process page handling and the same over HTTP.

Run: .venv/bin/python bench/bench_sparksim.py [--contacts-per-agent 50000] [--requests 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.test import Client  # noqa: E402

from sparksim.app import Config, Sim  # noqa: E402
from sparksim.auth import request_signature, session_signature  # noqa: E402

QUERIES = [
    {"_limit": "25", "_orderby": "-Score", "_filter": "Tags Eq 'Buyer'", "_expand": "Activity"},
    {"_limit": "25", "_orderby": "-Score", "_filter": "DisplayName Eq 'Jo*' Or Tags Eq 'Hot Lead'"},
    {"_limit": "25", "_page": "3", "_orderby": "-Score", "_filter": "Tags Eq 'Seller'", "_pagination": "1"},
    {"_limit": "25", "_filter": "ModificationTimestamp Gt 2024-10-01T00:00:00-05:00"},
]


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def signed_query(account, token: str, path: str, params: dict[str, str]) -> dict[str, str]:
    q = {**params, "AuthToken": token}
    q["ApiSig"] = request_signature(account.api_secret, account.api_key, path, q)
    return q


def run_in_process(sim: Sim, n: int) -> list[float]:
    client = Client(sim)
    account = sim.state.by_login["alice"]
    headers = {"X-SparkApi-User-Agent": "bench"}
    r = client.post("/v1/session", query_string={"ApiKey": account.api_key,
                                                 "ApiSig": session_signature(account.api_secret, account.api_key)},
                    headers=headers)
    token = r.get_json()["D"]["Results"][0]["AuthToken"]
    for q in QUERIES:  # warm the per-owner orderings once, as a running simulator would be
        client.get("/v1/contacts", query_string=signed_query(account, token, "/v1/contacts", q), headers=headers)
    times = []
    for i in range(n):
        q = signed_query(account, token, "/v1/contacts", QUERIES[i % len(QUERIES)])
        t = time.perf_counter()
        resp = client.get("/v1/contacts", query_string=q, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200, resp.get_data(as_text=True)
    return times


def run_http(cpa: int, n: int) -> tuple[float, list[float]]:
    sys.path.insert(0, str(ROOT))
    from tests.sim import start_sim
    from tests.sparksim.client import SparkClient
    t = time.perf_counter()
    sim = start_sim(contacts_per_agent=cpa)
    startup = time.perf_counter() - t
    try:
        c = SparkClient(sim.url, sim.account("alice"))
        c.login()
        for q in QUERIES:
            c.get("/contacts", **q)
        times = []
        for i in range(n):
            t = time.perf_counter()
            r = c.get("/contacts", **QUERIES[i % len(QUERIES)])
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
        return startup, times
    finally:
        sim.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--contacts-per-agent", type=int, default=50_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--skip-http", action="store_true")
    a = ap.parse_args()
    t = time.perf_counter()
    sim = Sim(Config(contacts_per_agent=a.contacts_per_agent))
    startup = time.perf_counter() - t
    agents, contacts = sim.state.stats()
    print(f"in-process build: {startup:.1f} s for {agents} agents, {contacts} contacts")
    times = run_in_process(sim, a.requests)
    print(f"in-process page (25 rows, filtered, -Score): p50 {statistics.median(times):.2f} ms, "
          f"p95 {percentile(times, 95):.2f} ms, max {max(times):.2f} ms over {len(times)} requests")
    del sim
    if not a.skip_http:
        startup, times = run_http(a.contacts_per_agent, a.requests)
        print(f"process startup to healthy: {startup:.1f} s")
        print(f"HTTP page (25 rows, filtered, -Score): p50 {statistics.median(times):.2f} ms, "
              f"p95 {percentile(times, 95):.2f} ms over {len(times)} requests")


if __name__ == "__main__":
    main()
