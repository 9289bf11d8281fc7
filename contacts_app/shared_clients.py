"""Clients held by two or more agents: the broker's view, office-scoped, and its two resolutions.

A group is every contact (not being deleted) of the broker's scope sharing one e-mail key or one phone key
(Contact.email_keys / phone_keys, kept by the trigger of migration 0015) where the contacts belong to at least two
different agents. Grouping every key of the store takes seconds at 150,000 contacts, so it is done in the background
(shared_keys_refresh: beat every SHARED_CLIENTS_REFRESH_S, or the broker's "Check again") into SharedClientKey, the
candidates; the page then checks each candidate against the contacts as they are now through the GIN indexes
(`email_keys @> ARRAY[key]`), in the broker's scope, so a group shows only when two agents *of that office* hold
the key, and a group resolved since the last check is gone at once.

Resolutions: transfer one contact to another agent of its group (a one-contact offboarding job: schedules read,
transfer through the outbox, schedules recreated for the new owner), or mark the group as intended (remembered in
SharedClientIntended with the group's contacts; an audit event records who and when).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite
from crm.outbox.queue import WriteRefused

from . import admin_services, offboarding
from .csv_export import LAST_ACTIVITY_SQL
from .models import Contact
from .people import OfficeScope
from .services import _actor_name
from .shared_models import SharedClientCheck, SharedClientIntended

PAGE_SIZE = 25
KINDS = {SharedClientIntended.Kind.EMAIL: "email_keys", SharedClientIntended.Kind.PHONE: "phone_keys"}


@dataclass
class SharedGroup:
    kind: str
    key: str
    contacts: list[Contact] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return SharedClientIntended.Kind(self.kind).label

    @property
    def agents(self) -> list[SparkAccount]:
        seen: dict[int, SparkAccount] = {}
        for c in self.contacts:
            seen.setdefault(c.owner_id, c.owner)
        return list(seen.values())

    @property
    def ids(self) -> list[int]:
        return sorted(c.pk for c in self.contacts)


@dataclass
class SharedPage:
    groups: list[SharedGroup]
    total: int
    number: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _scope_sql(scope: OfficeScope) -> tuple[str, list]:
    """The filter on a group's contacts for the scope: their owner is an agent of the broker's office. A filter of
    the aggregate, not of the scan, so the scan stays on the GIN index whatever the office."""
    if scope.everything:
        return "true", []
    owners = list(SparkAccount.objects.filter(scope.q("office_id")).values_list("pk", flat=True))
    return "c.owner_id = ANY(%s::bigint[])", [owners]


CANDIDATES_SQL = """
WITH keyed AS (
  SELECT 'email'::text AS kind, k AS key, c.owner_id FROM contacts_app_contact c CROSS JOIN LATERAL unnest(c.email_keys) k
  WHERE NOT c.pending_delete
  UNION ALL
  SELECT 'phone'::text, k, c.owner_id FROM contacts_app_contact c CROSS JOIN LATERAL unnest(c.phone_keys) k
  WHERE NOT c.pending_delete
)
INSERT INTO contacts_app_sharedclientkey (kind, key)
SELECT kind, key FROM keyed GROUP BY kind, key HAVING min(owner_id) <> max(owner_id)
"""


def _live(kind: str, column: str, scope_sql: str) -> str:
    """The candidates of `kind` as they are now: their contacts in scope, found through the GIN index."""
    return (f"SELECT s.kind, s.key, m.ids FROM contacts_app_sharedclientkey s CROSS JOIN LATERAL ("
            f"SELECT array_agg(c.id::bigint ORDER BY c.id) FILTER (WHERE {scope_sql}) AS ids, "
            f"count(DISTINCT c.owner_id) FILTER (WHERE {scope_sql}) AS owners "
            f"FROM contacts_app_contact c WHERE c.{column} @> ARRAY[s.key] AND NOT c.pending_delete) m "
            f"WHERE s.kind = '{kind}' AND m.owners >= 2")


PAGE_SQL = """
WITH groups AS ({email} UNION ALL {phone})
SELECT g.kind, g.key, g.ids, count(*) OVER () FROM groups g
WHERE NOT EXISTS (SELECT 1 FROM contacts_app_sharedclientintended d
                  WHERE d.kind = g.kind AND d.key = g.key AND g.ids <@ d.contact_ids)
ORDER BY g.kind, g.key LIMIT %s OFFSET %s
"""


def shared_keys_refresh() -> int:
    """Recompute the candidates: every key held by contacts of two or more agents (one pass over the keys).
    Returns how many; -1 when another refresh holds the lock."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(hashtext('contacts_app.shared_keys_refresh'))")
        if not cur.fetchone()[0]:
            return -1
        cur.execute("DELETE FROM contacts_app_sharedclientkey")
        cur.execute(CANDIDATES_SQL)
        count = cur.rowcount
        SharedClientCheck.objects.update_or_create(pk=1, defaults={
            "checked_at": timezone.now(), "keys": count, "took_ms": int((time.perf_counter() - started) * 1000)})
    return count


def shared_keys_refresh_queue() -> None:
    """Ask the worker for a fresh check (the broker's "Check again", or a first visit)."""
    from .tasks import refresh_shared_clients

    SharedClientCheck.objects.update_or_create(pk=1, defaults={"requested_at": timezone.now()})
    transaction.on_commit(refresh_shared_clients.delay)


def shared_check_get() -> SharedClientCheck | None:
    return SharedClientCheck.objects.filter(pk=1).first()


def _contacts(ids) -> dict[int, Contact]:
    rows = (Contact.objects.filter(pk__in=ids).select_related("owner")
            .extra(select={"last_activity": LAST_ACTIVITY_SQL}))  # noqa: S610 - fixed SQL, no parameters
    return {c.pk: c for c in rows}


def shared_group_list(*, scope: OfficeScope, page: int = 1, page_size: int = PAGE_SIZE) -> SharedPage:
    """One page of the groups in scope, ordered by kind (e-mail first) and key."""
    page = max(1, page)
    scope_sql, params = _scope_sql(scope)
    sql = PAGE_SQL.format(email=_live("email", "email_keys", scope_sql), phone=_live("phone", "phone_keys", scope_sql))
    with connection.cursor() as cur:
        cur.execute(sql, [*params, *params, *params, *params, page_size, (page - 1) * page_size])
        rows = cur.fetchall()
    if not rows and page > 1:
        return SharedPage(groups=[], total=0, number=page, pages=page)
    total = rows[0][3] if rows else 0
    contacts = _contacts({pk for row in rows for pk in row[2]})
    groups = [SharedGroup(kind=kind, key=key, contacts=sorted((contacts[pk] for pk in ids if pk in contacts),
                                                            key=lambda c: (c.owner.name, c.display_name, c.pk)))
              for kind, key, ids, _ in rows]
    return SharedPage(groups=groups, total=total, number=page, pages=max(1, -(-total // page_size)))


def shared_group_get(*, scope: OfficeScope, kind: str, key: str) -> SharedGroup | None:
    """The group of `key` as it is now, in scope; None when no longer held by two agents of the scope."""
    column = KINDS.get(kind)
    if column is None or not key or len(key) > 300:
        return None
    qs = (Contact.objects.filter(**{f"{column}__contains": [key]}, pending_delete=False)
          .filter(scope.q("owner__office_id")).select_related("owner")
          .extra(select={"last_activity": LAST_ACTIVITY_SQL}))  # noqa: S610 - fixed SQL, no parameters
    contacts = sorted(qs, key=lambda c: (c.owner.name, c.display_name, c.pk))
    if len({c.owner_id for c in contacts}) < 2:
        return None
    return SharedGroup(kind=kind, key=key, contacts=contacts)


@transaction.atomic
def shared_group_mark_intended(*, user, group: SharedGroup) -> SharedClientIntended:
    mark = SharedClientIntended.objects.create(kind=group.kind, key=group.key, contact_ids=group.ids, created_by=user)
    names = ", ".join(f"{c.display_name} ({c.owner.name})" for c in group.contacts)
    AuditEvent.objects.create(
        actor=user if user is not None and user.is_authenticated else None, actor_name=_actor_name(user),
        source=SparkWrite.Source.ADMIN, action="shared_intended", outcome=AuditEvent.Outcome.DONE,
        account=group.contacts[0].owner,
        contact=group.contacts[0], contact_spark_id=group.contacts[0].spark_id or "",
        contact_name=group.contacts[0].display_name[:75],
        message=f"Marked as held by several agents on purpose ({group.kind_label.lower()} {group.key}): {names}"[:2000],
        after={"kind": group.kind, "key": group.key, "contact_ids": group.ids,
               "agents": [a.name for a in group.agents], "at": timezone.now().isoformat()},
    )
    return mark


def shared_contact_transfer(*, user, group: SharedGroup, contact_id: int, target_id: int) -> BulkJob:
    """Move one contact of the group to another agent of the group, as offboarding moves a book."""
    contact = next((c for c in group.contacts if c.pk == contact_id), None)
    target_account = next((a for a in group.agents if a.pk == target_id), None)
    if contact is None or target_account is None:
        raise WriteRefused("Choose a contact of this group and another agent of it.")
    if target_account.pk == contact.owner_id:
        raise WriteRefused(f"{contact.display_name} already belongs to {target_account.name}.")
    target = admin_services.transfer_target_get(target_account.spark_user_id)
    if target is None:  # pragma: no cover - every linked account is a target
        raise WriteRefused(f"{target_account.name} cannot receive contacts.")
    return offboarding.offboarding_start(user=user, departing=contact.owner, target=target, contact_ids=[contact.pk])
