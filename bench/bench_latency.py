"""Agent-perceived latency with a slow Spark: from a tag click to the updated tags in the browser.

Starts a sparksim (every request --latency ms late), gunicorn and a Celery worker against the bench database,
then in headless Chromium (Playwright, Debian's /usr/bin/chromium) adds a tag on --clicks contacts' pages and
times click -> the new chip shown (marked pending). Also prints click -> Spark confirmed (from the outbox row),
which is what a page waiting on Spark would have made the agent sit through.

    .venv/bin/python bench/bench_latency.py                 # 1 s latency, 50 clicks
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

from _setup import (
    django_setup,
    forget_limits,
    link,
    pct,
    print_table,
    reset_store,
    start_sim,
    start_web,
    start_worker,
    summary_ms,
)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--latency", type=int, default=1000, help="sparksim latency per request, ms")
    p.add_argument("--clicks", type=int, default=50)
    args = p.parse_args()

    django_setup()
    from contacts_app.models import Contact
    from contacts_app.sync import contacts_sync
    from crm.outbox.models import SparkWrite
    from tests.sim import free_port

    sim = start_sim(contacts_per_agent=max(60, args.clicks + 5))
    procs = []
    try:
        reset_store()
        forget_limits()
        alice = link(sim, "alice")
        contacts_sync(account=alice, full=True)
        contacts = list(Contact.objects.filter(owner=alice, record_status="Connected").exclude(spark_id=None)
                        .order_by("pk")[:args.clicks])
        port = free_port()
        procs.append(start_worker(concurrency=4))
        procs.append(start_web(port, workers=2, threads=4))
        sim.faults(latency_ms=args.latency)
        base = f"http://127.0.0.1:{port}"

        from playwright.sync_api import sync_playwright

        shown: list[float] = []
        clicked_at: dict[int, dt.datetime] = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(base + "/login/")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", "pw-alice")
            page.click("button[type=submit]")
            page.wait_for_url("**/contacts/**")
            for i, contact in enumerate(contacts):
                tag = f"Latency {i}"
                page.goto(f"{base}/contacts/{contact.pk}/")
                page.fill("#tag-input", tag)
                chip = page.locator("#tags .chip", has_text=tag)
                clicked_at[contact.pk] = dt.datetime.now(dt.UTC)
                started = time.perf_counter()
                page.click(".tag-add button")
                chip.wait_for(state="visible")
                shown.append(time.perf_counter() - started)
            browser.close()

        deadline = time.monotonic() + 300
        while SparkWrite.objects.filter(account=alice, status__in=SparkWrite.OPEN).exists():
            if time.monotonic() > deadline:
                print("writes did not settle within 300 s", file=sys.stderr)
                return 1
            time.sleep(0.5)
        confirmed = [
            (w.confirmed_at - clicked_at[w.contact_id]).total_seconds()
            for w in SparkWrite.objects.filter(account=alice, kind="tag_add", status="confirmed")
            if w.contact_id in clicked_at and w.confirmed_at
        ]
        print_table(f"Tag click with Spark at {args.latency} ms per request ({len(shown)} clicks)", [
            ("click -> updated tags shown (pending)", summary_ms(shown)),
            ("click -> confirmed by Spark", summary_ms(confirmed)),
            ("shown / confirmed, p50", f"{pct(shown, 50) / pct(confirmed, 50):.3f}"),
        ])
        return 0
    finally:
        for proc in reversed(procs):
            proc.stop()
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
