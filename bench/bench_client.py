"""Throughput of SparkClient under the shared Redis rate limiter, against a real sparksim.

Starts a sparksim with its rate limit set to --requests per --window seconds for the key, configures the shared
limiter the same way, runs --threads clients on one key for --seconds, and prints the requests per second
achieved against the configured limit, and how many 429s Spark answered.

    .venv/bin/python bench/bench_client.py                 # 300 / 10 s, 4 threads, 20 s
    .venv/bin/python bench/bench_client.py --no-limiter    # the same load without the limiter
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=300, help="rate limit: requests per window (default 300)")
    p.add_argument("--window", type=float, default=10.0, help="rate limit window, seconds (default 10)")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--no-limiter", action="store_true", help="run without the shared limiter")
    p.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = p.parse_args()

    import logging

    import redis

    from crm.spark import ApiKeyAuth, SparkClient
    from crm.spark.auth import RedisTokenStore
    from crm.spark.errors import SparkError, SparkRateLimited
    from crm.spark.ratelimit import RedisRateLimiter
    from tests.sim import start_sim

    logging.getLogger("crm.spark").setLevel(logging.WARNING)  # one line per request would drown the figures
    sim = start_sim(seed=42, contacts_per_agent=60)
    try:
        sim.faults(rate_limit={"requests": args.requests, "window_s": args.window})
        acct = sim.account("alice")
        conn = redis.Redis.from_url(args.redis)
        limiter = None
        if not args.no_limiter:
            limiter = RedisRateLimiter(conn, name=f"bench-{uuid.uuid4().hex}", requests=args.requests,
                                       window_s=args.window)
        store = RedisTokenStore(conn, prefix=f"spark:bench:{uuid.uuid4().hex}:")
        counts = {"ok": 0, "429": 0, "other": 0}
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds

        def worker() -> None:
            client = SparkClient(base_url=sim.url, auth=ApiKeyAuth(acct["api_key"], acct["api_secret"], store=store),
                                 user_agent="FlexCRM-bench/1.0", max_retries=0, rate_limiter=limiter)
            while time.monotonic() < deadline:
                try:
                    client.request("GET", "/contacts", params={"_limit": 1})
                    key = "ok"
                except SparkRateLimited:
                    key = "429"
                    time.sleep(0.05)
                except SparkError:
                    key = "other"
                with lock:
                    counts[key] += 1

        seq = sim.last_seq()
        started = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        log = [r for r in sim.requests_since(seq) if r["path"] == "/v1/contacts"]
        served = sum(1 for r in log if r["status"] == 200)
        sim_429 = sum(1 for r in log if r["status"] == 429)
        limit_rps = args.requests / args.window
        # A sliding window lets a full window's worth through at once, so a run can at most serve this many:
        ceiling = args.requests * math.ceil(elapsed / args.window)
        print(f"limit        {args.requests} requests / {args.window:g} s = {limit_rps:.1f} req/s per key")
        print(f"run          {args.threads} threads, {elapsed:.1f} s, limiter {'off' if args.no_limiter else 'on'}")
        print(f"served       {served} requests = {served / elapsed:.1f} req/s "
              f"({served / elapsed / limit_rps:.0%} of the limit; at most {ceiling} could pass in {elapsed:.1f} s)")
        print(f"429s         {sim_429} answered by Spark (client saw {counts['429']}); other errors {counts['other']}")
        if limiter is not None:
            limiter.reset()
        return 0
    finally:
        sim.stop()


if __name__ == "__main__":
    raise SystemExit(main())
