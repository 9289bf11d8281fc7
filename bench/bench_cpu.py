"""CPU per request of the pages agents hit most, from process counters: web process + PostgreSQL backend.

Fills the bench database with --contacts contacts for alice (plus --agents - 1 other agents holding --others
contacts between them, for the scale run), made with one INSERT ... SELECT generate_series: realistic names,
e-mails, phones, tags and scores, with what a working store has besides: pending rows (open writes), refused rows
(failed writes), a sync state, an agent directory and contacts with stale activity. Then serves each scenario
--requests times per round in this process (Django's test client: one sync worker) for --rounds rounds, and prints
per request the median of the rounds and their spread (min-max) of (list rows rendered once are remembered by
what they show, so "list, unseen pages" asks a page not shown before on every request: the cost of a cold page):

- web CPU: this process's user + system time (`resource.getrusage`);
- PostgreSQL CPU: the connection's backend process's utime + stime (`/proc/<pid>/stat`);
- queries per request and p95 of the wall time (wall time is noisy on a shared box; the CPU counters are not).

    .venv/bin/python bench/bench_cpu.py                            # 50,000 contacts for alice, 5 x 100 requests
    .venv/bin/python bench/bench_cpu.py --agents 100 --others 950000   # the scale run: 1,000,000 in the store
    .venv/bin/python bench/bench_ab.py                             # this tree against a git worktree of another

With --json, the figures are also written as JSON (bench_ab.py reads them). BENCH_APP_ROOT runs the app of
another tree (bench_ab.py uses it for the commit before).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import sys
import time

from _setup import django_setup, pct, print_table, reset_store

TICK_S = 1 / os.sysconf("SC_CLK_TCK")

SCENARIOS = (
    # name, path (format with {pk}, {pending}), query, htmx target
    ("list page", "/contacts/", {}, None),
    ("list page 500", "/contacts/", {"page": "500"}, None),
    # Each request a page not shown before in this run: no row of it has been rendered (nothing remembered).
    ("list, unseen pages", "/contacts/", {"page": "{unseen}"}, None),
    ("list search 'son'", "/contacts/", {"q": "son"}, None),
    ("list sort score", "/contacts/", {"sort": "-score"}, None),
    ("list fragment (htmx 'e')", "/contacts/", {"q": "e"}, "results"),
    ("list fragment (htmx page 2)", "/contacts/", {"page": "2"}, "results"),
    ("contact page", "/contacts/{pk}/", {}, None),
    ("row poll", "/contacts/{pending}/row/", {}, None),
    ("live poll", "/contacts/{pending}/live/", {}, None),
    ("meta poll", "/contacts/meta/", {"shown": "50", "n": "{n}", "t": "{t}"}, None),
)

FILL_SQL = """
WITH names AS (
  SELECT string_to_array('James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
    Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra
    Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda
    Brian Melissa George Deborah Timothy Stephanie Ingrid Lars Sven Astrid Olaf Greta Nils Solveig', ' ') AS first,
  string_to_array('Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
    Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
    Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera
    Campbell Mitchell Carter Roberts Olson Larson Peterson Hanson Erickson Lindqvist Berg Nygaard O''Brien', ' ') AS last,
  ARRAY['Buyer','Seller','Past Client','IDX Lead','Sphere','Investor','First-time Buyer','Hot Lead','Relocation',
        'Open House','Referral','Landlord','Renter','Luxury','Downsizer'] AS tags
), base AS (
  SELECT i, owner,
    trim(n.first[1 + (hashint(i, 1) %% array_length(n.first, 1))]) AS fn,
    trim(n.last[1 + (hashint(i, 2) %% array_length(n.last, 1))]) AS ln,
    (ARRAY['701','218','320','612','763'])[1 + hashint(i, 3) %% 5] || '-555-' || lpad((hashint(i, 4) %% 10000)::text, 4, '0') AS phone,
    CASE WHEN hashint(i, 5) %% 10 < 7 THEN (hashint(i, 6) %% 97) ELSE 0 END AS score,
    ARRAY(SELECT n.tags[1 + hashint(i, 10 + k) %% 15] FROM generate_series(1, (hashint(i, 7) %% 4)) k) AS tagset
  FROM names n, (SELECT i, %(owner)s::bigint AS owner FROM generate_series(%(start)s, %(stop)s - 1) i) s
)
INSERT INTO contacts_app_contact (created_at, updated_at, owner_id, spark_id, display_name, primary_email,
  primary_phone, tags, record_status, score, relative_score, trend_7d, activity_fetched_at, attributes,
  spark_modified_at, spark_created_at, synced_at, write_state, pending_delete, search_text)
SELECT now(), now(), owner, 'bench' || lpad(i::text, 21, '0'), fn || ' ' || ln,
  lower(fn) || '.' || lower(replace(ln, '''', '')) || i || '@example.com', phone,
  ARRAY(SELECT DISTINCT unnest(tagset)), CASE WHEN hashint(i, 8) %% 20 = 0 THEN 'Unconnected' ELSE 'Connected' END,
  NULLIF(score, 0), CASE WHEN score > 0 THEN score / 96.0 END,
  CASE WHEN score > 0 THEN (hashint(i, 9) %% 41) - 15 END, CASE WHEN score > 0 THEN now() - interval '2 hours' END,
  jsonb_build_object('GivenName', fn, 'FamilyName', ln, 'HomeLocality', 'Fargo', 'HomeRegion', 'ND',
                     'Notes', repeat('Met at the open house on Elm Street. ', 8)),
  now() - (hashint(i, 11) %% 1000) * interval '1 hour', now() - interval '400 days', now(), '', false,
  lower(fn || ' ' || ln) || ' ' || lower(fn) || '.' || lower(replace(ln, '''', '')) || i || '@example.com ' || phone
    || ' ' || regexp_replace(phone, '\\D', '', 'g')
FROM base
"""


def fill(*, contacts: int, agents: int, others: int) -> dict:
    """The store this benchmark reads; returns what the scenarios need (alice's account, contacts to open)."""
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from contacts_app.models import Contact, ContactActivity
    from crm.agents.linking import spark_account_link
    from crm.agents.models import AgentDirectoryEntry, SparkAccount, SyncState
    from crm.outbox.models import AuditEvent, SparkWrite

    if SparkAccount.objects.exclude(spark_user_id__startswith="BENCHUSER").exists():
        reset_store()  # another benchmark's agents (bench_load's) hold these logins: start from an empty store
    accounts = [spark_account_link(username="alice" if n == 0 else f"agent{n:03d}", password="bench-pass-2026",
                                   spark_user_id=f"BENCHUSER{n:05d}", name="Alice Agent" if n == 0 else f"Agent {n}",
                                   office_id="OFFICE1", office_name="Fargo Office")
                for n in range(agents)]
    alice = accounts[0]
    want = contacts + others
    if Contact.objects.count() == want and Contact.objects.filter(owner=alice).count() == contacts:
        print(f"store already holds {want:,} contacts", flush=True)
    else:
        print(f"filling the store: {contacts:,} contacts for alice, {others:,} for {agents - 1} others ...",
              flush=True)
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("TRUNCATE contacts_app_contact, contacts_app_sparkwrite, contacts_app_auditevent, "
                        "contacts_app_contactactivity CASCADE")
            cur.execute("CREATE OR REPLACE FUNCTION hashint(i bigint, salt bigint) RETURNS bigint LANGUAGE sql "
                        "IMMUTABLE AS $$ SELECT abs(hashtextextended(i::text, salt)) $$")
            plan = [(alice.pk, 0, contacts)]
            per = others // max(agents - 1, 1)
            start = contacts
            for a in accounts[1:]:
                plan.append((a.pk, start, start + per))
                start += per
            for owner, lo, hi in plan:
                for chunk in range(lo, hi, 100_000):
                    cur.execute(FILL_SQL, {"owner": owner, "start": chunk, "stop": min(hi, chunk + 100_000)})
            cur.execute("VACUUM ANALYZE contacts_app_contact")
        print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)

    # What a working store has besides contacts (made again each run: it is small).
    SparkWrite.objects.filter(account=alice).delete()
    AuditEvent.objects.filter(account=alice).delete()
    ids = list(Contact.objects.filter(owner=alice).order_by("display_name", "id").values_list("pk", flat=True)[:60])
    Contact.objects.filter(owner=alice).exclude(write_state="").update(write_state="")
    now = timezone.now()
    for n, pk in enumerate(ids[:12]):  # the first page: pending rows (polling) and refused rows
        c = Contact.objects.get(pk=pk)
        failed = n % 4 == 3
        w = SparkWrite.objects.create(account=alice, contact=c, contact_name=c.display_name,
                                      kind=SparkWrite.Kind.TAG_ADD, payload={"tag": "Hot Lead"},
                                      status=SparkWrite.Status.FAILED if failed else SparkWrite.Status.QUEUED,
                                      spark_status=400 if failed else None, spark_code=1053 if failed else None,
                                      spark_message="Tag is not valid" if failed else "")
        AuditEvent.objects.create(actor=alice.user, actor_name="Alice Agent", source="page", account=alice,
                                  contact=c, contact_name=c.display_name, write=w, action=w.kind)
        Contact.objects.filter(pk=pk).update(write_state="failed" if failed else "pending",
                                             tags=[*c.tags, "Hot Lead"] if "Hot Lead" not in c.tags else c.tags)
    SparkWrite.objects.create(account=alice, contact_name="Gone Contact", kind=SparkWrite.Kind.UPDATE,
                              status=SparkWrite.Status.FAILED, spark_status=400, spark_message="Refused")
    SyncState.objects.update_or_create(account=alice, resource="newsfeeds", defaults={
        "status": "idle", "last_success_at": now - dt.timedelta(minutes=1)})
    SyncState.objects.update_or_create(account=alice, resource="contacts", defaults={
        "status": "idle", "last_success_at": now - dt.timedelta(minutes=1), "cursor": now,
        "last_full_at": now - dt.timedelta(hours=1)})
    for n in range(12):
        AgentDirectoryEntry.objects.update_or_create(spark_user_id=f"BENCHDIR{n:03d}", defaults={
            "name": f"Directory Agent {n}", "office_id": "OFFICE1", "office_name": "Fargo Office"})
    # Contact pages opened by the benchmark: half with activity read long ago (stale: the page asks a refresh).
    opened = ids[12:52]
    ContactActivity.objects.filter(contact_id__in=opened).delete()
    for n, pk in enumerate(opened):
        ContactActivity.objects.create(
            contact_id=pk, fetched_at=now - dt.timedelta(hours=2 if n % 2 else 0, minutes=1),
            daily=[{"date": (now - dt.timedelta(days=30 - d)).date().isoformat(), "score": (d * 7) % 11}
                   for d in range(30)], manual_emails_sent=3, listings_viewed=12)
    return {"alice": alice, "opened": opened, "pending": ids[0],
            "n": Contact.objects.filter(owner=alice, pending_delete=False).count(),
            "store": Contact.objects.count(), "agents": SparkAccount.objects.count()}


def backend_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime, stime


def web_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_round(client, scenario, ctx, requests: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    name, path, params, target = scenario
    headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target} if target else {}

    def one(i: int):
        url = path.format(pk=ctx["opened"][i % len(ctx["opened"])], pending=ctx["pending"])
        query = {k: v.format(n=ctx["n"], t=int(time.time()), unseen=next(ctx["unseen"])) for k, v in params.items()}
        resp = client.get(url, query, **headers)
        if resp.status_code != 200:
            raise RuntimeError(f"{url} {query} answered {resp.status_code}")

    for i in range(3):  # warm-up
        one(i)
    with CaptureQueriesContext(connection) as q:
        one(0)
    queries = len(q.captured_queries)
    connection.ensure_connection()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    walls = []
    web0, pg0 = web_cpu_s(), backend_cpu_s(pid)
    for i in range(requests):
        started = time.perf_counter()
        one(i)
        walls.append(time.perf_counter() - started)
    web, pg = web_cpu_s() - web0, backend_cpu_s(pid) - pg0
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        if cur.fetchone()[0] != pid:
            raise RuntimeError("the database connection changed during a round; its CPU was not all counted")
    return {"web_ms": web * 1000 / requests, "pg_ms": pg * 1000 / requests, "queries": queries,
            "p95_ms": pct([w * 1000 for w in walls], 95)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=50_000, help="alice's contacts")
    p.add_argument("--agents", type=int, default=1, help="agents in the store (alice and the others)")
    p.add_argument("--others", type=int, default=0, help="contacts of the other agents, together")
    p.add_argument("--requests", type=int, default=100, help="requests per scenario per round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default="", help="run only the scenarios whose name contains this")
    p.add_argument("--json", default="", help="also write the figures to this file")
    p.add_argument("--label", default="", help="a name for this run in the printed title")
    args = p.parse_args()

    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    django_setup()
    from django.test import Client

    ctx = fill(contacts=args.contacts, agents=args.agents, others=args.others)
    pages = max(ctx["n"] // 50, 1)
    ctx["unseen"] = (2 + i % (pages - 1) if pages > 1 else 1 for i in itertools.count())
    client = Client()
    client.force_login(ctx["alice"].user)
    scenarios = [s for s in SCENARIOS if args.only in s[0]]
    rounds: dict[str, list[dict]] = {s[0]: [] for s in scenarios}
    for r in range(args.rounds):
        for s in scenarios:  # scenarios interleaved, so a burst of load elsewhere hits all of them alike
            rounds[s[0]].append(run_round(client, s, ctx, args.requests))
        print(f"round {r + 1}/{args.rounds} done", flush=True)

    out: dict[str, dict] = {}
    rows = []
    for name, rs in rounds.items():
        fig = {}
        for key in ("web_ms", "pg_ms", "total_ms", "p95_ms"):
            vals = [x["web_ms"] + x["pg_ms"] for x in rs] if key == "total_ms" else [x[key] for x in rs]
            fig[key] = {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
        fig["queries"] = rs[-1]["queries"]
        out[name] = fig
        t = fig["total_ms"]
        rows.append((name, f"CPU {t['median']:6.2f} ms ({t['min']:5.2f}-{t['max']:5.2f})  = web "
                           f"{fig['web_ms']['median']:5.2f} + pg {fig['pg_ms']['median']:5.2f}   "
                           f"{fig['queries']:2d} queries   wall p95 {fig['p95_ms']['median']:6.1f} ms"))
    print_table(f"CPU per request{' — ' + args.label if args.label else ''}: {ctx['store']:,} contacts in the store, "
                f"{ctx['n']:,} for alice, {ctx['agents']} agents; median of {args.rounds} rounds x {args.requests} "
                f"requests (min-max of the rounds)", rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"store": ctx["store"], "alice": ctx["n"], "scenarios": out}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
