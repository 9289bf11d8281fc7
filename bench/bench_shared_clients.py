"""The broker's "Clients held by two or more agents" page: one page at 3 agents x 50,000 contacts.

Fills the bench database as bench_duplicates does (one INSERT ... SELECT per chunk; the trigger fills the keys)
for three agents, two of one office and one of another; then every 50th contact of the second agent and every
100th of the third take the e-mail of the first agent's contact of the same number, and every 200th of the second
its phone. Times the background check (shared_keys_refresh) and shared_clients.shared_group_list (the page's SQL over
the candidates and its contacts) for the office's broker and for an MLS-wide one, first page and a deep page,
--rounds times each, and prints the medians.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_shared .venv/bin/python bench/bench_shared_clients.py
"""

from __future__ import annotations

import argparse
import statistics
import time

from _setup import django_setup, print_table, reset_store
from bench_duplicates import FILL_SQL, PERSON_SQL

SHARE_SQL = """
UPDATE contacts_app_contact b SET primary_email = a.primary_email FROM contacts_app_contact a
WHERE a.owner_id = %(a)s AND b.owner_id = %(b)s AND b.spark_id = 'dupe' || lpad((%(offset)s + (substr(a.spark_id, 5))::bigint)::text, 20, '0')
  AND (substr(a.spark_id, 5))::bigint %% %(every)s = 7;
"""
PHONE_SQL = """
UPDATE contacts_app_contact b SET primary_phone = a.primary_phone FROM contacts_app_contact a
WHERE a.owner_id = %(a)s AND b.owner_id = %(b)s AND b.spark_id = 'dupe' || lpad((%(offset)s + (substr(a.spark_id, 5))::bigint)::text, 20, '0')
  AND (substr(a.spark_id, 5))::bigint %% %(every)s = 11;
"""


def fill(n: int):
    from django.db import connection

    from crm.agents.linking import spark_account_link
    from crm.agents.models import SparkAccount

    if SparkAccount.objects.exists():
        reset_store()
    agents = [spark_account_link(username=login, password="bench-pass-2026", spark_user_id=f"BENCHUSER{i:05d}",
                                 name=login.title(), office_id=office, office_name=office)
              for i, (login, office) in enumerate((("alice", "OFFICE1"), ("bob", "OFFICE1"), ("dave", "OFFICE2")))]
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE contacts_app_contact, contacts_app_sparkwrite, contacts_app_auditevent, "
                    "contacts_app_contactactivity CASCADE")
        cur.execute(PERSON_SQL)
        for k, agent in enumerate(agents):
            for chunk in range(k * n, (k + 1) * n, 25_000):
                cur.execute(FILL_SQL, {"owner": agent.pk, "start": chunk, "stop": min((k + 1) * n, chunk + 25_000)})
        cur.execute("ANALYZE contacts_app_contact")  # else the UPDATEs' join may be planned as a nested loop
        a, b, d = (x.pk for x in agents)
        cur.execute(SHARE_SQL, {"a": a, "b": b, "offset": n, "every": 50})
        cur.execute(SHARE_SQL, {"a": a, "b": d, "offset": 2 * n, "every": 100})
        cur.execute(PHONE_SQL, {"a": a, "b": b, "offset": n, "every": 200})
        cur.execute("VACUUM ANALYZE contacts_app_contact")
    print(f"filled {3 * n:,} contacts in {time.perf_counter() - started:.1f} s", flush=True)
    return agents


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=50_000, help="per agent")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    django_setup()
    from contacts_app import shared_clients
    from contacts_app.people import OfficeScope

    fill(args.contacts)
    rows = [("contacts", f"3 x {args.contacts:,}")]
    times = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        keys = shared_clients.shared_keys_refresh()
        times.append(time.perf_counter() - started)
    rows.append((f"background check (task's work, {keys:,} keys)",
                 f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
                 f"max {max(times) * 1000:.0f}, n={len(times)})"))
    for label, scope in (("office broker", OfficeScope(everything=False, office_id="OFFICE1")),
                         ("MLS-wide broker", OfficeScope(everything=True))):
        first = shared_clients.shared_group_list(scope=scope, page=1)
        for page_no in (1, max(1, first.pages // 2)):
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                page = shared_clients.shared_group_list(scope=scope, page=page_no)
                times.append(time.perf_counter() - started)
            rows.append((f"{label}: page {page_no} of {page.pages} ({page.total:,} groups, "
                         f"{len(page.groups)} shown)",
                         f"median {statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, "
                         f"max {max(times) * 1000:.0f}, n={len(times)})"))
    print_table("Clients held by two or more agents: one page", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
