"""The duplicates finder: a full recompute of one agent's book at 50,000 contacts, with planted duplicates.

Fills the bench database with --contacts contacts for alice in one INSERT ... SELECT generate_series (the trigger of
migration 0014 fills their e-mail and phone keys as the sync's inserts would): names from 60 first names and 8,000
surnames, 40% of them in Fargo and the rest in 39 other towns, 60% of e-mails at free-mail domains and the rest at
800 company domains, random phones. Every 100 contacts, four duplicates are planted of the first of them:
  +1 the same e-mail in capitals            +2 the same phone, written another way, as the mobile number
  +3 the surname with a letter dropped, same city   +4 "Surname, First", same city
Then runs duplicates_recompute (the background task's work: the SQL, the grouping, storing the groups) --rounds
times and prints the median with the spread, the groups found per reason, and how many planted pairs were found.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_dupes .venv/bin/python bench/bench_duplicates.py
"""

from __future__ import annotations

import argparse
import statistics
import time

from _setup import django_setup, print_table, reset_store

PERSON_SQL = """
CREATE OR REPLACE FUNCTION hashint(i bigint, salt bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS
  $$ SELECT abs(hashtextextended(i::text, salt)) $$;
CREATE OR REPLACE FUNCTION bench_dupe_person(j bigint, OUT fn text, OUT ln text, OUT city text, OUT email text,
                                             OUT phone text) LANGUAGE sql IMMUTABLE AS $$
  WITH p AS (
    SELECT f[1 + hashint(j, 1) % array_length(f, 1)] AS fn,
      initcap(s[1 + hashint(j, 2) % 20] || s[1 + hashint(j, 3) % 20] || s[1 + hashint(j, 4) % 20]) AS ln,
      CASE WHEN hashint(j, 5) % 10 < 4 THEN 'Fargo' ELSE 'Town ' || (1 + hashint(j, 6) % 39) END AS city,
      CASE WHEN hashint(j, 7) % 10 < 6 THEN (ARRAY['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com'])
        [1 + hashint(j, 8) % 4] ELSE 'co' || (hashint(j, 9) % 800) || '.example.com' END AS domain,
      (200 + hashint(j, 10) % 800)::text || lpad((hashint(j, 11) % 10000000)::text, 7, '0') AS phone
    FROM (SELECT regexp_split_to_array('James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth
      William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew
      Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth
      Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ingrid Lars Sven Astrid Olaf Greta Nils
      Solveig', '[[:space:]]+') AS f,
      ARRAY['ber','gan','son','lind','qvist','ny','gaard','ol','hal','vor','sen','ek','strom','mar','tin','ak','ers',
            'dahl','holm','rud'] AS s) words
  )
  SELECT fn, ln, city, lower(fn) || '.' || lower(ln) || j || '@' || domain, phone FROM p
$$;
"""

FILL_SQL = """
INSERT INTO contacts_app_contact (created_at, updated_at, owner_id, spark_id, display_name, primary_email,
  primary_phone, tags, record_status, attributes, synced_at, write_state, pending_delete, search_text)
SELECT now(), now(), %(owner)s, 'dupe' || lpad(i::text, 20, '0'),
  CASE kind WHEN 3 THEN s.fn || ' ' || overlay(s.ln PLACING '' FROM 3 FOR 1)
            WHEN 4 THEN s.ln || ', ' || s.fn ELSE p.fn || ' ' || p.ln END,
  CASE kind WHEN 1 THEN upper(s.email) ELSE p.email END,
  p.phone, '{}', 'Connected',
  jsonb_strip_nulls(jsonb_build_object(
    'HomeLocality', CASE WHEN kind IN (3, 4) THEN s.city ELSE p.city END,
    'MobilePhoneNumber', CASE kind WHEN 2 THEN '(' || substr(s.phone, 1, 3) || ') ' || substr(s.phone, 4, 3) || '-'
                                               || substr(s.phone, 7) END)),
  now(), '', false, ''
FROM (SELECT i, i %% 100 AS kind FROM generate_series(%(start)s, %(stop)s - 1) i) g,
  LATERAL bench_dupe_person(CASE WHEN kind BETWEEN 1 AND 4 THEN i - kind ELSE i END) s,
  LATERAL bench_dupe_person(i) p
"""


def fill(n: int):
    from django.db import connection

    from contacts_app.models import SparkAccount
    from crm.agents.linking import spark_account_link

    if SparkAccount.objects.exists():
        reset_store()
    alice = spark_account_link(username="alice", password="bench-pass-2026", spark_user_id="BENCHUSER00000",
                               name="Alice Agent", office_id="OFFICE1", office_name="Fargo Office")
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("TRUNCATE contacts_app_contact, contacts_app_sparkwrite, contacts_app_auditevent, "
                    "contacts_app_contactactivity CASCADE")
        cur.execute(PERSON_SQL)
        for chunk in range(0, n, 25_000):
            cur.execute(FILL_SQL, {"owner": alice.pk, "start": chunk, "stop": min(n, chunk + 25_000)})
        cur.execute("VACUUM ANALYZE contacts_app_contact")
    print(f"filled {n:,} contacts (keys by the trigger) in {time.perf_counter() - started:.1f} s", flush=True)
    return alice


def planted_found(alice, n: int) -> dict[str, str]:
    """Of each kind of planted pair, how many ended in one group with their original."""
    from contacts_app.duplicate_models import DuplicateGroup
    from contacts_app.models import Contact

    pk = dict(Contact.objects.filter(owner=alice).values_list("spark_id", "pk"))
    group_of = {}
    for g in DuplicateGroup.objects.filter(account=alice).values_list("pk", "contact_ids"):
        for cid in g[1]:
            group_of[cid] = g[0]
    out = {}
    for kind, label in ((1, "same e-mail (capitals)"), (2, "same phone (as mobile)"),
                        (3, "surname typo, same city"), (4, "'Surname, First', same city")):
        total = found = 0
        for base in range(0, n - kind, 100):
            a, b = pk.get(f"dupe{base:020d}"), pk.get(f"dupe{base + kind:020d}")
            total += 1
            found += a in group_of and group_of.get(a) == group_of.get(b)
        out[label] = f"{found}/{total}"
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contacts", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    django_setup()
    from django.db import connection

    from contacts_app import duplicate_finder
    from contacts_app.duplicate_models import DuplicateGroup

    alice = fill(args.contacts)
    times, sql_times = [], []
    for r in range(args.rounds):
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(duplicate_finder.PAIRS_SQL, {
                "owner": alice.pk, "cap": duplicate_finder.KEY_CAP, "name_cap": duplicate_finder.NAME_BLOCK_CAP,
                "free": list(duplicate_finder.FREE_MAIL), "similarity": duplicate_finder.NAME_SIMILARITY})
            pairs = len(cur.fetchall())
        sql_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        found = duplicate_finder.duplicates_recompute(account=alice)
        times.append(time.perf_counter() - started)
        print(f"round {r + 1}/{args.rounds}: full recompute {times[-1]:.2f} s ({found:,} groups, {pairs:,} pairs)",
              flush=True)

    def spread(values):
        return f"median {statistics.median(values):.2f} s  (min {min(values):.2f}, max {max(values):.2f}, " \
               f"n={len(values)})"

    groups = list(DuplicateGroup.objects.filter(account=alice).values_list("reasons", "contact_ids"))
    by_reason: dict[str, int] = {}
    for reasons, _ in groups:
        kinds = {"same e-mail" for r in reasons if r.startswith("same e-mail ")}
        kinds |= {"same phone" for r in reasons if r.startswith("same phone ")}
        kinds |= {"similar names + same city" for r in reasons if r.startswith("similar") and "same city" in r}
        kinds |= {"similar names + same e-mail domain" for r in reasons if r.startswith("similar") and "domain" in r}
        for kind in kinds:
            by_reason[kind] = by_reason.get(kind, 0) + 1
    sizes = [len(ids) for _, ids in groups]
    rows = [("contacts", f"{args.contacts:,}"),
            ("full recompute (task's work)", spread(times)),
            ("  of which the pairs SQL", spread(sql_times)),
            ("groups", f"{len(groups):,} (largest {max(sizes, default=0)} contacts)")]
    rows += [(f"  groups with '{k}'", f"{v:,}") for k, v in sorted(by_reason.items())]
    rows += [(f"planted: {k}", v) for k, v in planted_found(alice, args.contacts).items()]
    print_table(f"Duplicates finder at {args.contacts:,} contacts", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
