"""Bulk tag of 1,000 contacts through real Celery workers: time to the last confirmed write against the rate limit.

A sparksim with --contacts contacts for alice, synced into the bench database; then `bulk_job_start` tags them
all and real Celery workers deliver the outbox writes (each tag is a read and a write to Spark: 2 requests).
Prints the time from the start to the last confirmed write, the minimum the rate limit allows for the requests
used, and the 429s Spark answered. --rate-limit N/W scales the limit on sparksim and on our shared limiter (the
workers' SPARK_RATE_LIMIT_REQUESTS / SPARK_RATE_LIMIT_WINDOW_S) so a run takes a couple of minutes.

    .venv/bin/python bench/bench_bulk.py                        # Spark's 1,500 / 300 s (about 7 minutes)
    .venv/bin/python bench/bench_bulk.py --rate-limit 600/30    # scaled down: about 2 minutes
"""

from __future__ import annotations

import argparse
import sys
import time

from _setup import django_setup, forget_limits, link, print_table, reset_store, start_sim, start_worker


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=1000)
    p.add_argument("--rate-limit", default="1500/300", help="requests/window_s (default Spark's 1500/300)")
    p.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    p.add_argument("--concurrency", type=int, default=4, help="pool size of each worker")
    p.add_argument("--timeout", type=float, default=1800)
    args = p.parse_args()
    limit, window = (int(x) for x in args.rate_limit.split("/"))

    django_setup()
    from django.conf import settings
    from django.utils import timezone

    from contacts_app.bulk import bulk_job_start
    from contacts_app.models import Contact
    from contacts_app.sync import contacts_sync
    from crm.outbox.bulk import bulk_job_progress
    from crm.outbox.models import BulkJob, SparkWrite
    from crm.outbox.worker import outbox_sweep

    settings.SPARK_RATE_LIMIT_REQUESTS, settings.SPARK_RATE_LIMIT_WINDOW_S = limit, window
    sim = start_sim(contacts_per_agent=0)
    workers = []
    try:
        reset_store()
        forget_limits()
        alice = link(sim, "alice")
        sim.control("POST", f"/_sim/agents/{alice.spark_user_id}/contacts", json={"count": args.contacts})
        contacts_sync(account=alice, full=True)
        ids = list(Contact.objects.filter(owner=alice).values_list("pk", flat=True))
        env = {"SPARK_RATE_LIMIT_REQUESTS": str(limit), "SPARK_RATE_LIMIT_WINDOW_S": str(window)}
        workers = [start_worker(concurrency=args.concurrency, **env) for _ in range(args.workers)]
        # A fresh window on both sides, as if the agent had not used Spark for a while.
        forget_limits()
        sim.faults(rate_limit={"requests": limit, "window_s": window})
        seq = sim.last_seq()

        started = timezone.now()
        t0 = time.perf_counter()
        job = bulk_job_start(account=alice, user=alice.user, kind=BulkJob.Kind.TAG_ADD, contact_ids=ids,
                             params={"tag": "Spring Mailer"})
        last_sweep = time.monotonic()
        last_print = 0.0
        while True:
            progress = bulk_job_progress(job=job)
            if progress.done:
                break
            if time.perf_counter() - t0 > args.timeout:
                print(f"timed out: {progress}", file=sys.stderr)
                return 1
            if time.monotonic() - last_sweep > 10:  # what beat does in production
                outbox_sweep()
                last_sweep = time.monotonic()
            if time.perf_counter() - last_print > 10:
                print(f"  {time.perf_counter() - t0:6.1f} s: {progress.confirmed} confirmed, {progress.failed} failed,"
                      f" {progress.open} open of {progress.total}", flush=True)
                last_print = time.perf_counter()
            time.sleep(0.5)
        wall = time.perf_counter() - t0
        writes = SparkWrite.objects.filter(bulk_job=job)
        last = writes.filter(status=SparkWrite.Status.CONFIRMED).order_by("-confirmed_at").first()
        to_last = (last.confirmed_at - started).total_seconds() if last else float("nan")
        log = [r for r in sim.requests_since(seq) if r["path"].startswith("/v1/")]
        throttled = sum(1 for r in log if r["status"] == 429)
        n = len(log)
        minimum = max(0, n - limit) * window / limit
        sustained = n * window / limit
        tagged = sum(1 for c in sim.control("GET", f"/_sim/contacts?owner={alice.spark_user_id}&limit=1000000")
                     .json()["contacts"] if "Spring Mailer" in (c.get("Tags") or []))
        rows = [
            ("contacts tagged", f"{progress.total:,} ({progress.confirmed:,} confirmed, {progress.failed} failed); "
                                f"{tagged:,} carry the tag in Spark"),
            ("rate limit", f"{limit} requests / {window} s ({limit / window:.2f} req/s sustained)"),
            ("workers", f"{args.workers} x concurrency {args.concurrency}"),
            ("requests to Spark", f"{n:,} ({n / max(progress.total, 1):.2f} per contact)"),
            ("time to the last confirmed write", f"{to_last:.1f} s (progress seen done after {wall:.1f} s)"),
            ("minimum the limit allows", f"{minimum:.1f} s with a full window to start; {sustained:.1f} s sustained"),
            ("ratio time / minimum", f"{to_last / minimum:.2f}" if minimum else "n/a (fits in one window)"),
            ("ratio time / sustained minimum", f"{to_last / sustained:.2f}"),
            ("429s from Spark", str(throttled)),
        ]
        print_table(f"Bulk tag of {progress.total:,} contacts", rows)
        return 0 if progress.failed == 0 else 1
    finally:
        for w in workers:
            w.stop()
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
