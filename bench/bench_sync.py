"""First and incremental contact sync of 10,000 contacts: requests used and time taken against the rate limit.

A sparksim with --contacts contacts for alice; `contacts_app.sync.contacts_sync` fills the bench database's
store (full), then runs again with nothing changed (incremental). The rate limit is Spark's usual 1,500 requests
per 300 s unless --rate-limit N/W scales it (set on sparksim and on our shared limiter alike). The minimum time
is what the limit allows for the requests the sync needed: the first N of a sliding window go at once, every
further one waits W/N seconds; the sustained figure is requests × W/N.

    .venv/bin/python bench/bench_sync.py                          # 10,000 contacts, 1,500 / 300 s
    .venv/bin/python bench/bench_sync.py --rate-limit 100/10      # the limit scaled down: a minute or so
"""

from __future__ import annotations

import argparse
import sys
import time

from _setup import django_setup, forget_limits, link, print_table, reset_store, start_sim


def api_requests(sim, seq: int) -> list[dict]:
    return [r for r in sim.requests_since(seq) if r["path"].startswith("/v1/")]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=10_000)
    p.add_argument("--rate-limit", default="1500/300", help="requests/window_s (default Spark's 1500/300)")
    p.add_argument("--latency", type=int, default=0, help="sparksim latency per request, ms (default 0)")
    args = p.parse_args()
    limit, window = (float(x) for x in args.rate_limit.split("/"))

    django_setup()
    from django.conf import settings

    from contacts_app.models import Contact
    from contacts_app.sync import contacts_sync

    settings.SPARK_RATE_LIMIT_REQUESTS, settings.SPARK_RATE_LIMIT_WINDOW_S = int(limit), int(window)
    sim = start_sim(contacts_per_agent=0)
    try:
        reset_store()
        forget_limits()
        alice = link(sim, "alice")
        sim.control("POST", f"/_sim/agents/{alice.spark_user_id}/contacts", json={"count": args.contacts})
        sim.faults(rate_limit={"requests": int(limit), "window_s": window}, latency_ms=args.latency)
        in_spark = sim.control("GET", f"/_sim/contacts?owner={alice.spark_user_id}&limit=1").json()["total"]

        seq = sim.last_seq()
        started = time.perf_counter()
        first = contacts_sync(account=alice, full=True)
        first_s = time.perf_counter() - started
        first_reqs = api_requests(sim, seq)
        stored = Contact.objects.filter(owner=alice).count()
        if first.error or stored != in_spark:
            print(f"first sync incomplete: {stored} stored of {in_spark}; error {first.error!r}", file=sys.stderr)
            return 1

        seq = sim.last_seq()
        started = time.perf_counter()
        again = contacts_sync(account=alice, full=False)
        again_s = time.perf_counter() - started
        again_reqs = api_requests(sim, seq)
        if again.error:
            print(f"incremental sync failed: {again.error}", file=sys.stderr)
            return 1

        # The case above is a bulk import in flexmls: every contact stamped within the sync's 2 s cursor overlap.
        # The usual case: the last change is an ordinary one, seconds after the rest.
        time.sleep(2.5)
        one = sim.control("GET", f"/_sim/contacts?owner={alice.spark_user_id}&limit=1").json()["contacts"][0]
        sim.control("PATCH", f"/_sim/contacts/{one['Id']}", json={"Position": "Edited in flexmls"})
        contacts_sync(account=alice, full=False)
        seq = sim.last_seq()
        started = time.perf_counter()
        usual = contacts_sync(account=alice, full=False)
        usual_s = time.perf_counter() - started
        usual_reqs = api_requests(sim, seq)

        n = len(first_reqs)
        minimum = max(0.0, n - limit) * window / limit
        sustained = n * window / limit
        throttled = sum(1 for r in first_reqs if r["status"] == 429)
        rows = [
            ("contacts in Spark (connected + unconnected)", f"{in_spark:,}"),
            ("rate limit", f"{int(limit)} requests / {window:g} s ({limit / window:.2f} req/s sustained)"),
            ("first sync: requests", f"{n} ({first.fetched:,} contacts, {first.fetched / max(n, 1):.1f} per request)"),
            ("first sync: time", f"{first_s:.1f} s ({first.fetched / first_s:,.0f} contacts/s)"),
            ("first sync: minimum the limit allows", f"{minimum:.1f} s with a full window to start "
                                                     f"({sustained:.1f} s at the sustained rate)"),
            ("first sync: time / sustained minimum", f"{first_s / sustained:.2f} "
                                                     f"(throughput {sustained / first_s:.0%} of the sustained limit)"),
            ("first sync: 429s from Spark", str(throttled)),
            ("incremental sync, nothing changed: requests", f"{len(usual_reqs)} (target <= 2); "
                                                           f"{usual.fetched} contacts read; {usual_s * 1000:.0f} ms"),
            ("  same, right after a bulk import in flexmls", f"{len(again_reqs)} requests; {again.fetched:,} "
                                                            f"contacts read again; {again_s * 1000:.0f} ms"),
        ]
        print_table(f"Contact sync, {args.contacts:,} contacts", rows)
        return 0
    finally:
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
