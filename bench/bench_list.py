"""The contacts list at 50,000 contacts: server time from our store against the same page asked of Spark.

Fills the bench database (`crm_bench`) with --contacts contacts for alice (bulk_create: realistic names,
e-mails, phones, tags, scores, trends), then times the list page `/contacts/` in-process with Django's test
Client for each scenario (default, search as you type, tag and band filters, sorts, page 500): p50/p95 server
time. In the same run, a sparksim holding the same number of contacts for alice, at --spark-latency ms per
request, is asked for the same page the way a page without a store would have to: two 25-row requests with the
equivalent `_filter`/`_orderby`. Prints both and the ratio; EXPLAIN ANALYZE for any scenario over 100 ms.

    .venv/bin/python bench/bench_list.py                     # 50,000 contacts, 30 runs a scenario
    .venv/bin/python bench/bench_list.py --contacts 5000 --runs 10 --spark-runs 3
"""

from __future__ import annotations

import argparse
import random
import sys
import time

from _setup import django_setup, link, pct, print_table, reset_store, start_sim, summary_ms

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
         "Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark "
         "Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda "
         "Brian Melissa George Deborah Timothy Stephanie Ingrid Lars Sven Astrid Olaf Greta Nils Solveig").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
        "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
        "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
        "Rivera Campbell Mitchell Carter Roberts Olson Larson Peterson Hanson Erickson Lindqvist Berg Nygaard "
        "O'Brien Van Dyke").split()
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "example.edu")
TAGS = ("Buyer", "Seller", "Past Client", "IDX Lead", "Sphere", "Investor", "First-time Buyer", "Hot Lead",
        "Relocation", "Open House", "Referral", "Landlord", "Renter", "Luxury", "Downsizer")
AREA = ("701", "218", "320", "612", "763")

SCENARIOS: list[tuple[str, dict[str, str], dict[str, str] | None]] = [
    # name, our query string, Spark's equivalent (None: Spark cannot answer it in one page)
    ("default (name A-Z)", {}, {"_orderby": "DisplayName"}),
    ("search 'son'", {"q": "son"},
     {"_filter": "DisplayName Eq '*son*' Or PrimaryEmail Eq '*son*' Or PrimaryPhoneNumber Eq '*son*'",
      "_orderby": "DisplayName"}),
    ("search 'so' (2 letters)", {"q": "so"},
     {"_filter": "DisplayName Eq '*so*' Or PrimaryEmail Eq '*so*' Or PrimaryPhoneNumber Eq '*so*'",
      "_orderby": "DisplayName"}),
    ("search e-mail 'larson7@exa'", {"q": "larson7@exa"},
     {"_filter": "PrimaryEmail Eq '*larson7@exa*'", "_orderby": "DisplayName"}),
    ("search phone '555-01'", {"q": "555-01"},
     {"_filter": "PrimaryPhoneNumber Eq '*555-01*'", "_orderby": "DisplayName"}),
    ("tag 'Investor'", {"tag": "Investor"}, {"_filter": "Tags Eq 'Investor'", "_orderby": "DisplayName"}),
    ("band hot", {"band": "hot"}, None),
    ("sort score", {"sort": "-score"}, {"_orderby": "-Score"}),
    ("sort relative score", {"sort": "-relative"}, {"_orderby": "-Score"}),
    ("sort 7-day trend", {"sort": "-trend"}, None),
    ("search 'son' + sort score", {"q": "son", "sort": "-score"},
     {"_filter": "DisplayName Eq '*son*' Or PrimaryEmail Eq '*son*' Or PrimaryPhoneNumber Eq '*son*'",
      "_orderby": "-Score"}),
    ("tag + band + sort score", {"tag": "Buyer", "band": "warm", "sort": "-score"}, None),
    ("page 500", {"page": "500"}, {"_orderby": "DisplayName", "_page500": "1"}),
]


def fill_store(account, n: int, seed: int = 7) -> None:
    from django.db import connection

    from contacts_app.models import Contact, build_search_text

    rng = random.Random(seed)
    Contact.objects.filter(owner=account).delete()
    rows = []
    scores = [int(rng.paretovariate(1.3) * 6) - 6 if rng.random() < 0.7 else 0 for _ in range(n)]
    top = max(scores) or 1
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}"
        email = f"{first.lower()}.{last.lower().replace(' ', '').replace(chr(39), '')}{i}@{rng.choice(DOMAINS)}"
        phone = f"{rng.choice(AREA)}-555-{rng.randint(0, 9999):04d}"
        score = scores[i] if rng.random() > 0.05 else None
        rows.append(Contact(
            owner=account, spark_id=f"bench{i:021d}", display_name=name, primary_email=email, primary_phone=phone,
            tags=rng.sample(TAGS, rng.choice((0, 1, 1, 2, 2, 3))),
            record_status="Unconnected" if rng.random() < 0.05 else "Connected",
            score=score, relative_score=(score / top) if score is not None else None,
            trend_7d=rng.randint(-15, 25) if score else None,
            attributes={"GivenName": first, "FamilyName": last, "HomeLocality": "Fargo"},
            search_text=build_search_text(name, email, phone),
        ))
    for start in range(0, n, 5000):
        Contact.objects.bulk_create(rows[start:start + 5000])
    with connection.cursor() as cur:  # what autovacuum does to a table that has been around a while
        cur.execute("VACUUM ANALYZE contacts_app_contact")


CANDIDATE_INDEXES = (
    # Paginator's COUNT(*) as an index-only scan instead of a scan of every row of the agent's.
    "CREATE INDEX IF NOT EXISTS bench_owner_live ON contacts_app_contact (owner_id) WHERE NOT pending_delete",
    # The exact ORDER BY of each sort (NULLS LAST and the id tie-break), so LIMIT 50 reads 50 index entries.
    "CREATE INDEX IF NOT EXISTS bench_owner_name_id ON contacts_app_contact (owner_id, display_name, id)",
    "CREATE INDEX IF NOT EXISTS bench_owner_score ON contacts_app_contact (owner_id, score DESC NULLS LAST, id DESC)",
    "CREATE INDEX IF NOT EXISTS bench_owner_rel ON contacts_app_contact "
    "(owner_id, relative_score DESC NULLS LAST, id DESC)",
    "CREATE INDEX IF NOT EXISTS bench_owner_trend ON contacts_app_contact (owner_id, trend_7d DESC NULLS LAST, id DESC)",
)


def add_candidate_indexes() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for sql in CANDIDATE_INDEXES:
            cur.execute(sql)
        cur.execute("VACUUM ANALYZE contacts_app_contact")


def drop_candidate_indexes() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for name in ("bench_owner_live", "bench_owner_name_id", "bench_owner_score", "bench_owner_rel",
                     "bench_owner_trend"):
            cur.execute(f"DROP INDEX IF EXISTS {name}")


def time_store(client, params: dict[str, str], runs: int) -> list[float]:
    times = []
    for i in range(runs + 2):
        started = time.perf_counter()
        resp = client.get("/contacts/", params)
        elapsed = time.perf_counter() - started
        if resp.status_code != 200:
            raise RuntimeError(f"/contacts/ {params} answered {resp.status_code}")
        if i >= 2:  # two warm-up requests
            times.append(elapsed)
    return times


def sql_share(client, params: dict[str, str]) -> tuple[float, int, str]:
    """One more request with its queries captured: SQL time, query count and the slowest statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get("/contacts/", params)
    times = [(float(q["time"]), q["sql"]) for q in ctx.captured_queries]
    slowest = max(times, default=(0.0, ""))
    return sum(t for t, _ in times) * 1000, len(times), f"{slowest[0] * 1000:.1f} ms: {slowest[1][:150]}"


def time_spark(spark, params: dict[str, str], runs: int, page: int = 1) -> list[float]:
    params = dict(params)
    if params.pop("_page500", None):
        page = 500
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for half in (2 * page - 1, 2 * page):
            spark.request("GET", "/contacts", params={**params, "_limit": 25, "_page": half, "_pagination": 1})
        times.append(time.perf_counter() - started)
    return times


def explain(account, params: dict[str, str]) -> str:
    from contacts_app.selectors import ContactQuery, contact_list

    qs = contact_list(account=account, query=ContactQuery.from_params(params))
    page = int(params.get("page", 1))
    return (qs[(page - 1) * 50: page * 50].explain(analyze=True, buffers=True) + "\n-- count --\n"
            + qs.order_by().explain(analyze=True))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=50_000)
    p.add_argument("--runs", type=int, default=30, help="timed requests per scenario from the store")
    p.add_argument("--spark-runs", type=int, default=5, help="timed pages per scenario from Spark")
    p.add_argument("--spark-latency", type=int, default=150, help="sparksim latency per request, ms")
    p.add_argument("--no-spark", action="store_true", help="time only the store side")
    p.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE for every scenario")
    p.add_argument("--try-indexes", action="store_true",
                   help="time the store again with candidate indexes added to the bench database (then dropped)")
    args = p.parse_args()

    import os

    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    django_setup()
    from django.test import Client

    from crm.agents.spark import client_for_account

    sim = start_sim(contacts_per_agent=20)
    try:
        reset_store()
        alice = link(sim, "alice")
        print(f"filling the store with {args.contacts:,} contacts for alice ...", flush=True)
        started = time.perf_counter()
        drop_candidate_indexes()
        fill_store(alice, args.contacts)
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
        client = Client()
        client.force_login(alice.user)

        store: dict[str, list[float]] = {}
        sql: dict[str, tuple[float, int, str]] = {}
        for name, params, _ in SCENARIOS:
            store[name] = time_store(client, params, args.runs)
            sql[name] = sql_share(client, params)
            print(f"store  {name:30s} {summary_ms(store[name])}   sql {sql[name][0]:5.1f} ms in {sql[name][1]} "
                  f"queries (slowest {sql[name][2][:60]}...)", flush=True)

        indexed: dict[str, list[float]] = {}
        if args.try_indexes:
            add_candidate_indexes()
            for name, params, _ in SCENARIOS:
                indexed[name] = time_store(client, params, args.runs)
                print(f"store+idx {name:27s} {summary_ms(indexed[name])}", flush=True)
            drop_candidate_indexes()

        spark_times: dict[str, list[float]] = {}
        if not args.no_spark:
            print(f"sparksim: adding {args.contacts:,} contacts for alice ...", flush=True)
            sim.control("POST", f"/_sim/agents/{alice.spark_user_id}/contacts", json={"count": args.contacts})
            sim.faults(latency_ms=args.spark_latency)
            spark = client_for_account(alice, max_retries=0)
            for name, _, equivalent in SCENARIOS:
                if equivalent is None:
                    continue
                spark_times[name] = time_spark(spark, equivalent, args.spark_runs)
                print(f"spark  {name:30s} {summary_ms(spark_times[name])}", flush=True)
            sim.clear_faults()

        rows = []
        slow = []
        for name, params, _ in SCENARIOS:
            s50, s95 = pct(store[name], 50) * 1000, pct(store[name], 95) * 1000
            if s95 >= 100:
                slow.append((name, params))
            line = (f"store p50 {s50:6.1f} ms  p95 {s95:6.1f} ms {'OK ' if s95 < 100 else 'SLOW'} "
                    f"(sql {sql[name][0]:5.1f} ms)")
            if name in indexed:
                line += f" | with candidate indexes p95 {pct(indexed[name], 95) * 1000:6.1f} ms"
            if name in spark_times:
                k50, k95 = pct(spark_times[name], 50) * 1000, pct(spark_times[name], 95) * 1000
                line += f" | Spark p50 {k50:7.1f} ms  p95 {k95:7.1f} ms | Spark/store p50 x{k50 / s50:5.1f}"
            elif not args.no_spark:
                line += " | Spark: no equivalent (no score/trend filter or sort; would need every contact)"
            rows.append((name, line))
        print_table(f"Contacts list, {args.contacts:,} contacts, server time (target p95 < 100 ms), "
                    f"Spark at {args.spark_latency} ms/request", rows)
        for name, params in ([(n, q) for n, q, _ in SCENARIOS] if args.explain else slow):
            print(f"\nEXPLAIN ANALYZE — {name} {params}")
            print(explain(alice, params))
        print(f"\n{len(slow)} of {len(SCENARIOS)} scenarios over 100 ms at p95.")
        return 0
    finally:
        sim.stop()


if __name__ == "__main__":
    sys.exit(main())
