"""The duplicates finder: which of an agent's contacts may be one person, and why; computed in the background.

Pairs come from one SQL statement over the agent's list rows (duplicates.py's normalisation, kept in
Contact.email_keys / phone_keys by a trigger):
- a shared e-mail key (primary or secondary, any case);
- a shared phone key (the last 10 digits);
- similar names (pg_trgm similarity at least NAME_SIMILARITY) AND a shared city or e-mail domain (not a free-mail
  one). Names are compared only within a block: the same agent, the same city or domain, and a blocking key (the
  double metaphone of the first and last word in either order, or one word as written and the other's initial), so
  "Jon Smith" meets "John Smyth" and "Smith, John", but a book of 50,000 is never compared with itself.
A key shared by more than KEY_CAP contacts is a placeholder (noemail@…, 000-000-0000), not a person: left out.
Pairs the agent said are not duplicates are dropped; the rest are joined into groups (connected pairs), each with its
reasons, and stored in place of the agent's previous groups. The page only reads them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.agents.models import SparkAccount

from .duplicate_models import DuplicateCheck, DuplicateDismissal, DuplicateGroup
from .models import Contact

log = logging.getLogger(__name__)

NAME_SIMILARITY = 0.6
KEY_CAP = 25
# Names are compared within a block (same city or domain, same blocking key); a block larger than this is a name
# too common to tell people apart by (400 "John S." in one city), and is left out rather than compared pair by pair.
NAME_BLOCK_CAP = 400
CLAIM = dt.timedelta(minutes=5)
MAX_ROUNDS = 3
FREE_MAIL = (
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "hotmail.com", "outlook.com", "live.com", "msn.com",
    "aol.com", "icloud.com", "me.com", "mac.com", "comcast.net", "att.net", "sbcglobal.net", "verizon.net",
    "protonmail.com", "proton.me", "gmx.com", "gmx.net", "mail.com", "yandex.com", "zoho.com", "fastmail.com",
    "hey.com", "midco.net", "charter.net", "cox.net", "earthlink.net", "bellsouth.net",
)

WORD_SIMILARITY = 0.5


def alike(a: str, b: str, sound_a: str, sound_b: str) -> str:
    """SQL: two words are alike when they are written or sound the same, or are spelled closely enough."""
    return f"{a} = {b} OR {sound_a} = {sound_b} OR similarity({a}, {b}) >= {WORD_SIMILARITY}"


# The list's rows (models.LIST_ROWS): not waiting to be deleted, not a create Spark refused.
PAIRS_SQL = f"""
WITH live AS (
  SELECT id, display_name, email_keys, phone_keys, attributes
  FROM contacts_app_contact
  WHERE owner_id = %(owner)s AND NOT pending_delete AND NOT (spark_id IS NULL AND write_state = 'failed')
),
email_keys AS (
  SELECT k, array_agg(id) AS ids FROM live, unnest(email_keys) k GROUP BY k HAVING count(*) > 1
),
emails AS (SELECT k, ids FROM email_keys WHERE cardinality(ids) <= %(cap)s),
phones AS (
  SELECT k, array_agg(id) AS ids FROM live, unnest(phone_keys) k GROUP BY k HAVING count(*) BETWEEN 2 AND %(cap)s
),
words AS MATERIALIZED (
  SELECT id, n, array_remove(regexp_split_to_array(n, '[[:space:][:punct:]]+'), '') AS w
  FROM (SELECT id, lower(btrim(display_name)) AS n FROM live) x
),
named AS (
  -- Three blocking keys, so a pair is compared if it meets in any: both words' sounds (in either order: "Smith, Jon"
  -- meets "John Smyth"), the first word as written with the last one's initial, the last word with the first's
  -- initial (a typo in one word, whatever it does to its sound).
  SELECT id, n, w1, wl, m1, m2, unnest(ARRAY[
    'm:' || least(m1, m2) || ' ' || greatest(m1, m2),
    'f:' || w[1] || ' ' || left(w[cardinality(w)], 1),
    'l:' || w[cardinality(w)] || ' ' || left(w[1], 1)]) AS nk
  FROM (
    SELECT id, n, w, w[1] AS w1, w[cardinality(w)] AS wl, coalesce(nullif(dmetaphone(w[1]), ''), w[1]) AS m1,
           coalesce(nullif(dmetaphone(w[cardinality(w)]), ''), w[cardinality(w)]) AS m2
    FROM words WHERE cardinality(w) > 0 AND length(n) <= 200
  ) m
),
blocks AS (
  SELECT DISTINCT id, 'city' AS kind, lower(btrim(v)) AS key FROM live,
    LATERAL (VALUES (attributes ->> 'HomeLocality'), (attributes ->> 'WorkLocality')) c(v)
  WHERE jsonb_typeof(attributes) = 'object' AND btrim(v) <> ''
  UNION
  SELECT id, 'domain', split_part(k, '@', 2) FROM live, unnest(email_keys) k
  WHERE split_part(k, '@', 2) <> '' AND NOT (split_part(k, '@', 2) = ANY(%(free)s))
    AND k NOT IN (SELECT k FROM email_keys WHERE cardinality(ids) > %(cap)s)  -- a placeholder's domain says nothing
),
keyed AS (
  SELECT b.id, b.kind, b.key, n.n, n.w1, n.wl, n.m1, n.m2, n.nk, count(*) OVER (PARTITION BY b.kind, b.key, n.nk) AS size
  FROM blocks b JOIN named n ON n.id = b.id
)
SELECT a, b, 'email', k, 1.0::float FROM emails, unnest(ids) a, unnest(ids) b WHERE a < b
UNION ALL
SELECT a, b, 'phone', k, 1.0::float FROM phones, unnest(ids) a, unnest(ids) b WHERE a < b
UNION ALL
SELECT DISTINCT x.id, y.id, x.kind, x.key, similarity(x.n, y.n)::float
FROM keyed x JOIN keyed y ON y.kind = x.kind AND y.key = x.key AND y.nk = x.nk AND y.id > x.id
WHERE x.size <= %(name_cap)s AND similarity(x.n, y.n) >= %(similarity)s
  -- and word for word (first with first and last with last, or crossed: "Smith, John"), each pair of words alike
  -- by sound or by spelling: a long first name in common is not enough to make two people one.
  AND ((({alike("x.w1", "y.w1", "x.m1", "y.m1")}) AND ({alike("x.wl", "y.wl", "x.m2", "y.m2")}))
    OR (({alike("x.w1", "y.wl", "x.m1", "y.m2")}) AND ({alike("x.wl", "y.w1", "x.m2", "y.m1")})))
"""


def _phone_label(key: str) -> str:
    return f"{key[:3]}-{key[3:6]}-{key[6:]}" if len(key) == 10 else key


def _reason(kind: str, key: str, score: float) -> tuple[int, str]:
    """(sort order, text) of one reason."""
    if kind == "email":
        return 0, f"same e-mail {key}"
    if kind == "phone":
        return 1, f"same phone {_phone_label(key)}"
    where = f"same city {key.title()}" if kind == "city" else f"same e-mail domain {key}"
    return 2, f"similar names ({score:.2f}) and {where}"


def duplicate_pairs(*, account: SparkAccount) -> dict[tuple[int, int], list[tuple[str, str, float]]]:
    """{(low id, high id): [(kind, key, score), ...]} of the agent's possible duplicates, dismissed pairs left out."""
    pairs: dict[tuple[int, int], list[tuple[str, str, float]]] = {}
    with transaction.atomic(), connection.cursor() as cur:
        # The statement's estimated cost is far above jit_above_cost, and compiling it took longer than running it.
        cur.execute("SET LOCAL jit = off")
        cur.execute(PAIRS_SQL, {"owner": account.pk, "cap": KEY_CAP, "name_cap": NAME_BLOCK_CAP,
                                "free": list(FREE_MAIL), "similarity": NAME_SIMILARITY})
        for a, b, kind, key, score in cur.fetchall():
            pairs.setdefault((a, b), []).append((kind, key, score))
    dismissed = set(DuplicateDismissal.objects.filter(account=account).values_list("low_id", "high_id"))
    return {pair: why for pair, why in pairs.items() if pair not in dismissed}


def _groups(pairs: dict[tuple[int, int], list[tuple[str, str, float]]]) -> list[dict]:
    """Connected pairs as groups: members, reasons (each once, shared keys first), pairs and best score."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, dict] = {}
    for (a, b), why in sorted(pairs.items()):
        g = groups.setdefault(root(a), {"ids": set(), "reasons": {}, "pairs": [], "best": 0.0})
        g["ids"].update((a, b))
        g["pairs"].append([a, b])
        shares_key = any(kind in ("email", "phone") for kind, _, _ in why)
        for kind, key, score in why:
            if shares_key and kind not in ("email", "phone"):
                continue  # a shared e-mail says more than its domain; the names add nothing
            order, text = _reason(kind, key, score)
            g["reasons"].setdefault(text, (order, -score))
            g["best"] = max(g["best"], score)
    return [{"ids": sorted(g["ids"]), "reasons": sorted(g["reasons"], key=lambda t: (*g["reasons"][t], t)),
             "pairs": g["pairs"], "best": g["best"]} for g in groups.values()]


def fingerprint(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()


def duplicates_recompute(*, account: SparkAccount) -> int:
    """Find the agent's groups now and store them in place of the previous ones; returns how many. A group with the
    same members as before keeps its row (and id), so a page open during a check still acts on it."""
    now = timezone.now()
    groups = _groups(duplicate_pairs(account=account))
    with transaction.atomic():
        existing = {fp: pk for pk, fp in DuplicateGroup.objects.select_for_update().filter(
            account=account).values_list("pk", "fingerprint")}
        kept, made = [], []
        for g in groups:
            row = DuplicateGroup(account=account, contact_ids=g["ids"], reasons=g["reasons"], pairs=g["pairs"],
                                 best=round(g["best"], 4), fingerprint=fingerprint(g["ids"]), found_at=now)
            if row.fingerprint in existing:
                row.pk = existing.pop(row.fingerprint)
                kept.append(row)
            else:
                made.append(row)
        DuplicateGroup.objects.filter(pk__in=existing.values()).delete()
        DuplicateGroup.objects.bulk_update(kept, ["reasons", "pairs", "best"], batch_size=2000)
        DuplicateGroup.objects.bulk_create(made, batch_size=2000)
    return len(groups)


# -- the background check: claimed per agent, asked again while running -------------------------------------------


def _claim(account_id: int) -> bool:
    now = timezone.now()
    DuplicateCheck.objects.get_or_create(account_id=account_id)
    return bool(DuplicateCheck.objects.filter(account_id=account_id).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).update(claimed_until=now + CLAIM, again=False))


def _release(account_id: int, **done) -> bool:
    """Give the claim back, unless the check was asked again meanwhile: then keep it and answer True."""
    with transaction.atomic():
        check = DuplicateCheck.objects.select_for_update().get(account_id=account_id)
        for name, value in done.items():
            setattr(check, name, value)
        again = check.again
        check.again = False
        check.claimed_until = timezone.now() + CLAIM if again else None
        check.save()
    return again


def duplicates_check(account_id: int) -> str:
    """The task's body: recompute the agent's groups unless another worker is at it (then it goes round again)."""
    try:
        return _check(account_id)
    except Exception:
        if not SparkAccount.objects.filter(pk=account_id).exists():
            return "gone"  # the agent was removed while their book was being checked: nothing left to do
        raise


def _check(account_id: int) -> str:
    account = SparkAccount.objects.filter(pk=account_id).first()
    if account is None:
        return "gone"
    if not _claim(account_id):
        # Someone is checking: ask them to go round once more (unless their claim ran out just now: then take it).
        if DuplicateCheck.objects.filter(account_id=account_id, claimed_until__gte=timezone.now()).update(again=True):
            return "queued behind a running check"
        if not _claim(account_id):
            return "busy"
    for _ in range(MAX_ROUNDS):
        started = time.monotonic()
        try:
            found = duplicates_recompute(account=account)
        except Exception as exc:
            if SparkAccount.objects.filter(pk=account_id).exists():
                log.exception("Duplicates check of account %s failed", account_id)
                _release(account_id, last_error=str(exc)[:500])
            raise
        took = int((time.monotonic() - started) * 1000)
        checked = Contact.objects.filter(owner=account).count()
        if not _release(account_id, checked_at=timezone.now(), took_ms=took, contacts_checked=checked,
                        last_error=""):
            return f"{found} groups in {took} ms"
    DuplicateCheck.objects.filter(account_id=account_id).update(claimed_until=None)
    return "stopped after several rounds"


def duplicates_check_queue(account: SparkAccount | int) -> None:
    """Queue a check of the agent's book once the current transaction commits."""
    from .tasks import find_duplicates

    account_id = account if isinstance(account, int) else account.pk
    DuplicateCheck.objects.update_or_create(account_id=account_id, defaults={"requested_at": timezone.now()})
    transaction.on_commit(lambda: find_duplicates.delay(account_id))


def duplicates_sweep() -> int:
    """Queue a check for every linked agent whose contacts changed since their last check (or never checked)."""
    changed = Contact.objects.filter(owner=OuterRef("pk"), updated_at__gt=OuterRef("duplicate_check__checked_at"))
    accounts = SparkAccount.objects.filter(link_status=SparkAccount.LinkStatus.LINKED).filter(
        Q(duplicate_check__isnull=True) | Q(duplicate_check__checked_at__isnull=True) | Exists(changed)).filter(
        Q(duplicate_check__isnull=True) | Q(duplicate_check__claimed_until__isnull=True)
        | Q(duplicate_check__claimed_until__lt=timezone.now()))
    ids = list(accounts.values_list("pk", flat=True)[:settings.DUPLICATES_SWEEP_BATCH])
    for account_id in ids:
        duplicates_check_queue(account_id)
    return len(ids)
