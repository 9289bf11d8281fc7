"""Load: --agents concurrent agents browsing and writing for --seconds against one gunicorn pool.

Starts a sparksim (--latency ms per request), a Celery worker and gunicorn (--web-workers x --threads) against
the bench database, syncs the five demo agents, then runs --agents sessions (spread over the five agents' logins:
Spark has five demo agents) that each loop: the list page with a random search, filter, sort or page; a contact
page; now and then a tag added with htmx. Prints the error rate (5xx, timeouts, refused connections) and the
latency percentiles per kind of request.

    .venv/bin/python bench/bench_load.py                      # 50 agents, 2 minutes, 2 x 8 gunicorn
    .venv/bin/python bench/bench_load.py --agents 20 --seconds 30
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import defaultdict

import requests
from _setup import django_setup, forget_limits, link, pct, print_table, reset_store, start_sim, start_web, start_worker

LOGINS = ("alice", "bob", "carol", "dave", "erin")
QUERIES = ({}, {"q": "son"}, {"q": "an"}, {"q": "555"}, {"tag": "Buyer"}, {"band": "hot"}, {"sort": "-score"},
           {"sort": "-relative"}, {"sort": "-trend"}, {"page": "3"}, {"status": "unconnected"}, {"q": "e", "sort": "-score"})


class Agent(threading.Thread):
    def __init__(self, n: int, base: str, login: str, contact_ids: list[int], until: float, results, lock) -> None:
        super().__init__(daemon=True)
        self.n, self.base, self.login, self.ids = n, base, login, contact_ids
        self.until, self.results, self.lock = until, results, lock
        self.rng = random.Random(n)
        self.http = requests.Session()

    def call(self, kind: str, method: str, path: str, **kwargs) -> requests.Response | None:
        started = time.perf_counter()
        try:
            resp = self.http.request(method, self.base + path, timeout=30, allow_redirects=False, **kwargs)
            ok = resp.status_code < 400
        except requests.RequestException:
            resp, ok = None, False
        elapsed = time.perf_counter() - started
        with self.lock:
            self.results[kind].append((elapsed, ok, resp.status_code if resp is not None else "exception"))
        return resp

    def run(self) -> None:
        self.http.get(self.base + "/login/", timeout=30)
        token = self.http.cookies.get("csrftoken", "")
        self.http.post(self.base + "/login/", data={"username": self.login, "password": f"pw-{self.login}",
                                                    "csrfmiddlewaretoken": token}, timeout=30)
        headers = {"X-CSRFToken": self.http.cookies.get("csrftoken", ""), "HX-Request": "true"}
        i = 0
        while time.monotonic() < self.until:
            i += 1
            self.call("list page", "GET", "/contacts/", params=self.rng.choice(QUERIES))
            if self.rng.random() < 0.3:
                self.call("list (htmx search)", "GET", "/contacts/", params={"q": self.rng.choice("aeiouns") * 1},
                          headers={"HX-Request": "true", "HX-Target": "results"})
            pk = self.rng.choice(self.ids)
            self.call("contact page", "GET", f"/contacts/{pk}/")
            if self.rng.random() < 0.2:
                self.call("tag add (write)", "POST", f"/contacts/{pk}/tags/add/",
                          data={"tag": f"Load {self.n % 10}"}, headers=headers)
            time.sleep(self.rng.uniform(0.2, 1.0))  # an agent reads the page before the next click


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--web-workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--contacts", type=int, default=1000, help="contacts per agent in sparksim")
    p.add_argument("--latency", type=int, default=150, help="sparksim latency per request, ms")
    args = p.parse_args()

    django_setup()
    from contacts_app.models import Contact
    from contacts_app.sync import contacts_sync
    from crm.outbox.models import SparkWrite
    from tests.sim import free_port

    sim = start_sim(contacts_per_agent=args.contacts)
    procs = []
    try:
        reset_store()
        forget_limits()
        accounts = {login: link(sim, login) for login in LOGINS}
        for account in accounts.values():
            contacts_sync(account=account, full=True)
        ids = {login: list(Contact.objects.filter(owner=a).values_list("pk", flat=True)) for login, a in accounts.items()}
        port = free_port()
        procs.append(start_worker(concurrency=4))
        procs.append(start_web(port, workers=args.web_workers, threads=args.threads))
        sim.faults(latency_ms=args.latency)

        results: dict[str, list] = defaultdict(list)
        lock = threading.Lock()
        until = time.monotonic() + args.seconds
        agents = [Agent(n, f"http://127.0.0.1:{port}", LOGINS[n % len(LOGINS)], ids[LOGINS[n % len(LOGINS)]],
                        until, results, lock) for n in range(args.agents)]
        started = time.perf_counter()
        for a in agents:
            a.start()
        for a in agents:
            a.join(args.seconds + 60)
        wall = time.perf_counter() - started

        rows = []
        every = [r for rs in results.values() for r in rs]
        for kind, rs in sorted(results.items()):
            ms = [t * 1000 for t, _, _ in rs]
            errors = [s for _, ok, s in rs if not ok]
            rows.append((kind, f"n={len(rs):6d}  p50 {pct(ms, 50):7.1f} ms  p95 {pct(ms, 95):7.1f} ms  "
                               f"errors {len(errors)} ({len(errors) / max(len(rs), 1):.2%})"))
        errors = [s for _, ok, s in every if not ok]
        ms = [t * 1000 for t, _, _ in every]
        rows.append(("all requests", f"n={len(every):6d}  p50 {pct(ms, 50):7.1f} ms  p95 {pct(ms, 95):7.1f} ms  "
                                     f"errors {len(errors)} ({len(errors) / max(len(every), 1):.2%})"))
        rows.append(("throughput", f"{len(every) / wall:.1f} requests/s over {wall:.0f} s"))
        if errors:
            by = defaultdict(int)
            for s in errors:
                by[s] += 1
            rows.append(("errors by status", ", ".join(f"{k}: {v}" for k, v in by.items())))
        writes = SparkWrite.objects.filter(kind="tag_add")
        rows.append(("tag writes made / confirmed so far", f"{writes.count()} / {writes.filter(status='confirmed').count()}"))
        print_table(f"Load: {args.agents} agents for {args.seconds:.0f} s, gunicorn {args.web_workers} x "
                    f"{args.threads} threads, Spark at {args.latency} ms", rows)
        return 0
    finally:
        for proc in reversed(procs):
            proc.stop()
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
