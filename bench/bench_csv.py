"""CSV in and out: a 10,000-row import against the rate limit, and the export of 50,000 contacts.

Import: a generated 10,000-row CSV (Outlook headers) is uploaded, then read, mapped and previewed by a worker as
from the upload page (`csv_import_upload`), then run (`csv_import_start`); real Celery workers deliver the creates through the outbox
and the shared limiter. Prints the time to the last confirmed create against the minimum the rate limit allows
for the requests used (each create is a POST and a read back). --rate-limit N/W scales the limit on sparksim and on
our limiter so a run takes minutes, not Spark's hour and more.

Export: --export-contacts contacts in the store, then GET /contacts/export/ from a gunicorn worker: time to the
first byte, time to the last, and the worker's resident memory before and at its peak (VmHWM).

    .venv/bin/python bench/bench_csv.py                                   # 10,000 rows at 1500/30, 50,000 exported
    .venv/bin/python bench/bench_csv.py --rows 2000 --rate-limit 1500/60  # quicker
    .venv/bin/python bench/bench_csv.py --skip-import                     # the export only
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from pathlib import Path

from _setup import django_setup, forget_limits, link, print_table, reset_store, start_sim, start_web, start_worker

HEADERS = ["Title", "First Name", "Last Name", "E-mail Address", "Mobile Phone", "Home City", "Categories", "Notes"]


def make_file(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for i in range(rows):
        writer.writerow(["", f"Bench{i:05d}", "Importer", f"bench.import.{i}@example.com", f"701-555-{i % 10000:04d}"
                         if i < 10000 else "", "Fargo", "Bench", "Imported by the benchmark" if i % 5 == 0 else ""])
    return out.getvalue().encode()


def bench_import(args, alice, sim) -> list[tuple[str, str]]:
    from django.utils import timezone

    from contacts_app import csv_import
    from crm.outbox.bulk import bulk_job_progress
    from crm.outbox.models import SparkWrite
    from crm.outbox.worker import outbox_sweep

    limit, window = (int(x) for x in args.rate_limit.split("/"))
    env = {"SPARK_RATE_LIMIT_REQUESTS": str(limit), "SPARK_RATE_LIMIT_WINDOW_S": str(window)}
    workers = [start_worker(concurrency=args.concurrency, **env) for _ in range(args.workers)]
    try:
        data = make_file(args.rows)
        t0 = time.perf_counter()
        # As the upload page does: the head checked in the request, the rest read and previewed by a worker.
        imp = csv_import.csv_import_upload(account=alice, user=alice.user, filename="bench.csv", data=data)
        while imp.state in (imp.State.READING, imp.State.CLASSIFYING) and time.perf_counter() - t0 < args.timeout:
            time.sleep(0.5)
            imp.refresh_from_db()
        if imp.state != imp.State.READY:
            raise SystemExit(f"the import did not become ready: {imp.state} {imp.problem}")
        preview_s = time.perf_counter() - t0
        forget_limits()  # a fresh window on both sides, as if the agent had not used Spark for a while
        sim.faults(rate_limit={"requests": limit, "window_s": window})
        seq = sim.last_seq()
        started = timezone.now()
        t0 = time.perf_counter()
        job = csv_import.csv_import_start(imp=imp, user=alice.user)
        last_sweep = last_print = time.monotonic()
        while True:
            progress = bulk_job_progress(job=job)
            if progress.done or time.perf_counter() - t0 > args.timeout:
                break
            if time.monotonic() - last_sweep > 10:  # what beat does in production
                outbox_sweep()
                last_sweep = time.monotonic()
            if time.monotonic() - last_print > 15:
                print(f"  {time.perf_counter() - t0:6.1f} s: {progress.confirmed:,} confirmed, {progress.failed} "
                      f"failed, {progress.open:,} open of {progress.total:,}", flush=True)
                last_print = time.monotonic()
            time.sleep(0.5)
        wall = time.perf_counter() - t0
        last = SparkWrite.objects.filter(bulk_job=job, status=SparkWrite.Status.CONFIRMED).order_by(
            "-confirmed_at").first()
        to_last = (last.confirmed_at - started).total_seconds() if last else float("nan")
        log = [r for r in sim.requests_since(seq) if r["path"].startswith("/v1/")]
        n = len(log)
        throttled = sum(1 for r in log if r["status"] == 429)
        minimum = max(0, n - limit) * window / limit
        sustained = n * window / limit
        in_spark = sim.control("GET", f"/_sim/contacts?owner={alice.spark_user_id}&limit=1000000").json()["total"]
        return [
            ("rows imported", f"{args.rows:,}: {progress.confirmed:,} confirmed, {progress.failed} failed; "
                              f"{in_spark:,} contacts in Spark"),
            ("upload + read + map + preview (worker)", f"{preview_s:.1f} s"),
            ("rate limit", f"{limit} requests / {window} s ({limit / window:.1f} req/s); "
                           f"{args.workers} worker x {args.concurrency}"),
            ("requests to Spark", f"{n:,} ({n / max(args.rows, 1):.2f} per row)"),
            ("time to the last confirmed create", f"{to_last:.1f} s (progress seen done after {wall:.1f} s)"),
            ("minimum the limit allows", f"{minimum:.1f} s with a full window to start; {sustained:.1f} s "
                                         "sustained"),
            ("ratio time / minimum", f"{to_last / minimum:.2f}" if minimum else "n/a (fits in one window)"),
            ("ratio time / sustained minimum", f"{to_last / sustained:.2f}"),
            ("429s from Spark", str(throttled)),
        ]
    finally:
        for w in workers:
            w.stop()


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _mem_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def bench_export(args, alice) -> list[tuple[str, str]]:
    import requests
    from bench_list import fill_store

    fill_store(alice, args.export_contacts)
    port = 8931
    web = start_web(port, workers=1, threads=2)
    try:
        base = f"http://127.0.0.1:{port}"
        http = requests.Session()
        http.get(base + "/login/", timeout=30)
        http.post(base + "/login/", data={"username": "alice", "password": "pw-alice",
                                          "csrfmiddlewaretoken": http.cookies.get("csrftoken", "")}, timeout=30)
        http.get(base + "/contacts/", timeout=60).raise_for_status()  # the worker warm, as after any page
        worker = _children(web.process.pid)[0]
        before = _mem_kb(worker, "VmRSS")
        t0 = time.perf_counter()
        resp = http.get(base + "/contacts/export/", stream=True, timeout=600)
        resp.raise_for_status()
        chunks = resp.iter_content(chunk_size=65536)
        first = next(chunks)
        ttfb = time.perf_counter() - t0
        size, lines = len(first), first.count(b"\n")
        for chunk in chunks:
            size += len(chunk)
            lines += chunk.count(b"\n")
        total = time.perf_counter() - t0
        peak = _mem_kb(worker, "VmHWM")
        return [
            ("contacts exported", f"{lines - 1:,} rows ({size / 1_048_576:.1f} MB)"),
            ("time to first byte", f"{ttfb * 1000:.0f} ms"),
            ("time to last byte", f"{total:.1f} s ({(lines - 1) / total:,.0f} rows/s)"),
            ("web worker memory", f"{before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB "
                                  f"(+{(peak - before) / 1024:.0f} MB for a {size / 1_048_576:.0f} MB file)"),
        ]
    finally:
        web.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--rate-limit", default="1500/30", help="requests/window_s (Spark's is 1500/300)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--export-contacts", type=int, default=50_000)
    p.add_argument("--skip-import", action="store_true")
    p.add_argument("--skip-export", action="store_true")
    args = p.parse_args()

    django_setup()
    sim = start_sim(contacts_per_agent=0)
    try:
        reset_store()
        forget_limits()
        alice = link(sim, "alice")
        if not args.skip_import:
            print_table(f"CSV import of {args.rows:,} rows", bench_import(args, alice, sim))
        if not args.skip_export:
            print_table(f"CSV export of {args.export_contacts:,} contacts", bench_export(args, alice))
        return 0
    finally:
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
