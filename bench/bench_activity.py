"""The activity refresher on a 10,000-contact agent: coverage over time within its budget share, and tag-click
latency with the refresher running vs not running (A/B in one run).

A sparksim with --contacts contacts for alice, synced into the bench database, and a real Celery worker. Time is
scaled by --scale: the workers' rate window is 300/scale s (1,500 requests per window, Spark's limit) and the
refresher's tick 10/scale s, so the run takes minutes instead of hours; every time is printed both as measured and
scaled back to real time (x scale). The bench process sends the refresher's tick task every tick, as beat does.

Phase A: tag clicks (one contact_tag_add each, waited to Spark's confirmation) with the refresher off.
Phase B: the refresher runs until every contact has a trend; the same tag clicks are made meanwhile.

--layout split (the Procfile's): the refresher's ticks on the background queue, taken by a worker of their own
(niced, one process), the writes by the usual worker (2 processes). --layout shared: one worker (2 processes) takes
both queues, as before the split. Run both to compare the tag clicks' latency with the refresher on:

    .venv/bin/python bench/bench_activity.py --contacts 3000 --clicks 20 --layout split
    .venv/bin/python bench/bench_activity.py --contacts 3000 --clicks 20 --layout shared
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from _setup import django_setup, forget_limits, link, pct, print_table, reset_store, start_sim, start_worker

LIMIT = 1500
REAL_WINDOW_S = 300
REAL_TICK_S = 10.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=10_000)
    p.add_argument("--scale", type=int, default=50, help="time scale: rate window 300/scale s (a divisor of 300)")
    p.add_argument("--share", type=float, default=0.2, help="ACTIVITY_BUDGET_SHARE")
    p.add_argument("--clicks", type=int, default=40, help="tag clicks per phase")
    p.add_argument("--timeout", type=float, default=900, help="seconds (measured) to wait for full coverage")
    p.add_argument("--layout", choices=("split", "shared"), default="split",
                   help="split: a background worker of its own for the refresher; shared: one worker for all")
    args = p.parse_args()
    window = REAL_WINDOW_S // args.scale
    if window * args.scale != REAL_WINDOW_S or window < 1:
        p.error("--scale must divide 300")
    tick = REAL_TICK_S / args.scale

    django_setup()
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from contacts_app.activity_tasks import refresh_activity_tick
    from contacts_app.models import Contact
    from contacts_app.services import contact_tag_add
    from contacts_app.sync import contacts_sync
    from crm.outbox.models import SparkWrite

    settings.SPARK_RATE_LIMIT_REQUESTS, settings.SPARK_RATE_LIMIT_WINDOW_S = LIMIT, window
    settings.ACTIVITY_BUDGET_SHARE, settings.ACTIVITY_TICK_S = args.share, tick
    sim = start_sim(contacts_per_agent=0)
    workers = []
    try:
        reset_store()
        forget_limits()
        alice = link(sim, "alice")
        sim.control("POST", f"/_sim/agents/{alice.spark_user_id}/contacts", json={"count": args.contacts})
        contacts_sync(account=alice, full=True)
        book = Contact.objects.filter(owner=alice)
        total = book.count()
        click_targets = list(book.order_by("?").values_list("pk", flat=True)[: args.clicks * 2])
        env = {"SPARK_RATE_LIMIT_REQUESTS": str(LIMIT), "SPARK_RATE_LIMIT_WINDOW_S": str(window),
               "ACTIVITY_BUDGET_SHARE": str(args.share), "ACTIVITY_TICK_S": str(tick)}
        if args.layout == "split":
            workers.append(start_worker(concurrency=2, queues="default", **env))
            workers.append(start_worker(concurrency=1, queues="background", **env))
        else:
            workers.append(start_worker(concurrency=2, queues="both", **env))
        forget_limits()
        sim.faults(rate_limit={"requests": LIMIT, "window_s": window})

        def click(pk: int, n: int) -> float:
            """One tag click, timed from the click to Spark's confirmation of the write."""
            contact = Contact.objects.get(pk=pk)
            started = time.perf_counter()
            with transaction.atomic():
                write = contact_tag_add(account=alice, user=alice.user, contact=contact, tag=f"Bench {n}")
            while True:
                status = SparkWrite.objects.filter(pk=write.pk).values_list("status", flat=True).first()
                if status == SparkWrite.Status.CONFIRMED:
                    return time.perf_counter() - started
                if status in SparkWrite.FINAL or time.perf_counter() - started > 60:
                    raise RuntimeError(f"tag write {write.pk} ended {status}")
                time.sleep(0.01)

        def clicks(targets: list[int], gap_s: float) -> list[float]:
            out = []
            for n, pk in enumerate(targets):
                out.append(click(pk, n))
                time.sleep(gap_s)
            return out

        print(f"  {total:,} contacts synced; window {window} s, tick {tick:.2f} s (scale x{args.scale}); "
              f"layout {args.layout}", flush=True)
        off = clicks(click_targets[: args.clicks], 0.2)
        print(f"  phase A: {len(off)} clicks, refresher off", flush=True)

        # Phase B: the refresher (beat's part is played by this thread) and the same clicks at the same time.
        forget_limits()
        stop = threading.Event()

        def beat() -> None:
            while not stop.is_set():
                refresh_activity_tick.apply_async(expires=tick)  # as beat sends it
                stop.wait(tick)

        timeline: list[tuple[float, int]] = []
        peak_window = [0]
        from crm.agents.spark import client_for_account

        limiter = client_for_account(alice).rate_limiter
        t0 = time.perf_counter()
        started_at = timezone.now()
        threading.Thread(target=beat, daemon=True).start()
        on: list[float] = []
        clicker = threading.Thread(target=lambda: on.extend(clicks(click_targets[args.clicks:], 0.2)), daemon=True)
        clicker.start()
        covered = 0
        while covered < total:
            if time.perf_counter() - t0 > args.timeout:
                print(f"timed out with {covered:,} of {total:,} covered", file=sys.stderr)
                break
            covered = book.filter(trend_7d__isnull=False, activity_fetched_at__gte=started_at).count()
            timeline.append((time.perf_counter() - t0, covered))
            peak_window[0] = max(peak_window[0], limiter.in_window())
            time.sleep(0.5)
        wall = time.perf_counter() - t0
        stop.set()
        clicker.join(120)

        def reached(fraction: float) -> str:
            for t, n in timeline:
                if n >= fraction * total:
                    return f"{t:7.1f} s measured = {t * args.scale / 3600:5.2f} h real"
            return "not reached"

        budget_rps = LIMIT * args.share / window
        minimum = total / budget_rps
        rows = [
            ("contacts", f"{total:,} (alice)"),
            ("rate limit (scaled)", f"{LIMIT} / {window} s = {LIMIT / window:.0f} req/s; real {LIMIT} / "
                                    f"{REAL_WINDOW_S} s = {LIMIT / REAL_WINDOW_S:.0f} req/s"),
            ("refresher share", f"{args.share:.0%}: {budget_rps:.0f} req/s scaled, "
                                f"{LIMIT * args.share / REAL_WINDOW_S:.1f} req/s real"),
            ("coverage 50 %", reached(0.5)),
            ("coverage 90 %", reached(0.9)),
            ("coverage 100 %", reached(1.0)),
            ("minimum at the share", f"{minimum:7.1f} s measured = {minimum * args.scale / 3600:5.2f} h real"),
            ("ratio time / minimum", f"{wall / minimum:.2f}" if covered >= total else "n/a"),
            ("whole limit, for comparison", f"{total / (LIMIT / window):7.1f} s measured = "
                                            f"{total / (LIMIT / REAL_WINDOW_S) / 60:5.1f} min real"),
            ("peak requests in the window", f"{peak_window[0]} of {LIMIT} ({peak_window[0] / LIMIT:.0%}; "
                                            f"share ceiling {int(LIMIT * args.share)})"),
            ("tag click, refresher off", f"p50 {pct(off, 50) * 1000:6.1f} ms   p95 {pct(off, 95) * 1000:6.1f} ms"
                                         f"   n={len(off)}"),
            ("tag click, refresher on", f"p50 {pct(on, 50) * 1000:6.1f} ms   p95 {pct(on, 95) * 1000:6.1f} ms"
                                        f"   n={len(on)}"),
            ("refresher on vs off", f"p50 {pct(on, 50) / pct(off, 50) - 1:+.0%}   p95 "
                                    f"{pct(on, 95) / pct(off, 95) - 1:+.0%}" if on and off else "n/a"),
        ]
        print_table(f"Activity refresher: {total:,} contacts at {args.share:.0%} of the rate budget "
                    f"(time scaled x{args.scale}), layout {args.layout}", rows)
        return 0 if covered >= total else 1
    finally:
        for worker in workers:
            worker.stop()
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
