"""Reads: every page reads the store through these, scoped to the agent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from crm.safeinput import storable_text

from .models import AuditEvent, BulkJob, Contact, SparkAccount, SparkWrite, SyncState

# Each sort is the exact reverse or the exact order of one index on Contact (see Contact.Meta.indexes).
SORTS = {
    "name": ("display_name", "id"),
    "-name": ("-display_name", "-id"),
    "-modified": (F("spark_modified_at").desc(nulls_last=True), "-id"),
    "modified": (F("spark_modified_at").asc(nulls_first=True), "id"),
    "-score": (F("score").desc(nulls_last=True), "-id"),
    "score": (F("score").asc(nulls_first=True), "id"),
    "-relative": (F("relative_score").desc(nulls_last=True), "-id"),
    "-trend": (F("trend_7d").desc(nulls_last=True), "-id"),
    # Contacts with no activity series (no trend yet) come last in both trend sorts, never first.
    "trend": (F("trend_7d").asc(nulls_last=True), "id"),
}
SORT_LABELS = {
    "name": "Name A–Z", "-name": "Name Z–A", "-score": "Score, highest first", "score": "Score, lowest first",
    "-relative": "Relative score", "-trend": "Rising this week", "trend": "Falling this week",
    "-modified": "Recently modified",
}
BANDS = {
    "hot": ("Hot (top third)", Q(relative_score__gte=0.66)),
    "warm": ("Warm", Q(relative_score__gte=0.33, relative_score__lt=0.66)),
    "cool": ("Cool", Q(relative_score__gt=0, relative_score__lt=0.33)),
    "none": ("No activity", Q(score__isnull=True) | Q(score=0)),
}
STATUSES = {"connected": "Connected", "unconnected": "Unconnected"}


@dataclass(frozen=True)
class ContactQuery:
    q: str = ""
    tag: str = ""
    status: str = ""
    band: str = ""
    sort: str = "name"

    @classmethod
    def from_params(cls, params) -> ContactQuery:
        query = cls(
            # Cleaned here too: bulk actions decode a query string of their own, which the middleware never sees.
            q=storable_text(params.get("q", ""))[:200], tag=storable_text(params.get("tag", ""))[:1000],
            status=params.get("status", ""),
            band=params.get("band", ""), sort=params.get("sort", "name"),
        )
        if query.sort not in SORTS:
            query = replace(query, sort="name")
        if query.status not in STATUSES:
            query = replace(query, status="")
        if query.band not in BANDS:
            query = replace(query, band="")
        return query

    def as_params(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v and not (k == "sort" and v == "name")}


def contact_list(*, account: SparkAccount, query: ContactQuery) -> QuerySet[Contact]:
    # A contact whose create Spark refused exists only here: it waits in Needs attention, out of the list and of
    # every "all matching" bulk action.
    qs = Contact.objects.filter(owner=account, pending_delete=False).exclude(
        spark_id__isnull=True, write_state=Contact.WriteState.FAILED)
    term = query.q.strip().lower()
    if term:
        digits = "".join(ch for ch in term if ch.isdigit())
        if len(digits) >= 3 and not any(ch.isalpha() for ch in term):
            term = digits
        qs = qs.filter(search_text__contains=term)
    if query.tag:
        qs = qs.filter(tags__contains=[query.tag])
    if query.status:
        qs = qs.filter(record_status=STATUSES[query.status])
    if query.band:
        qs = qs.filter(BANDS[query.band][1])
    return qs.order_by(*SORTS[query.sort])


def contact_get_for_agent(*, account: SparkAccount, pk: int) -> Contact:
    """Another agent's contact is a 404, never a 403: its existence is not revealed."""
    try:
        return Contact.objects.select_related("owner").get(pk=pk, owner=account)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise Http404("No such contact") from None


def contact_with_email(*, account: SparkAccount, email: str, exclude_pk: int | None = None) -> Contact | None:
    """The agent's contact that already has this e-mail, as its primary or a secondary address (any case)."""
    key = email.strip().lower()
    if not key:
        return None
    qs = Contact.objects.filter(owner=account, pending_delete=False).exclude(
        spark_id__isnull=True, write_state=Contact.WriteState.FAILED)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    secondary = (
        "CASE WHEN jsonb_typeof(contacts_app_contact.attributes->'SecondaryEmails') = 'array' THEN EXISTS ("
        "SELECT 1 FROM jsonb_array_elements_text(contacts_app_contact.attributes->'SecondaryEmails') AS e "
        "WHERE lower(e) = %s) ELSE false END"
    )
    return (qs.filter(primary_email__iexact=key).order_by("display_name", "id").first()
            or qs.annotate(has_email=RawSQL(secondary, [key], output_field=BooleanField()))  # noqa: S611 - fixed SQL, the e-mail is a parameter
            .filter(has_email=True).order_by("display_name", "id").first())


def contact_gone_note(*, account: SparkAccount, pk) -> SparkWrite | None:
    """The confirmed transfer or delete by which this agent's contact `pk` left them (None if it never was theirs)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return (SparkWrite.objects.filter(account=account, status=SparkWrite.Status.CONFIRMED,
                                      kind__in=[SparkWrite.Kind.TRANSFER, SparkWrite.Kind.DELETE],
                                      payload__contact_pk=pk)
            .order_by("-confirmed_at", "-id").first())


def write_get_for_agent(*, account: SparkAccount, pk: int) -> SparkWrite:
    try:
        return SparkWrite.objects.get(pk=pk, account=account)
    except (SparkWrite.DoesNotExist, ValueError, TypeError):
        raise Http404("No such change") from None


def bulk_job_get_for_agent(*, account: SparkAccount, pk: int) -> BulkJob:
    try:
        return BulkJob.objects.get(pk=pk, account=account)
    except (BulkJob.DoesNotExist, ValueError, TypeError):
        raise Http404("No such job") from None


def account_for_user(user) -> SparkAccount | None:
    if not user.is_authenticated:
        return None
    return SparkAccount.objects.filter(user=user).first()


def sync_state_get(*, account: SparkAccount, resource: str = "contacts") -> SyncState | None:
    return SyncState.objects.filter(account=account, resource=resource).first()


def tag_list(*, account: SparkAccount) -> list[str]:
    """Every tag the agent uses (cached briefly: it feeds filters and autocomplete on every page)."""
    key = f"tags:{account.pk}"
    tags = cache.get(key)
    if tags is None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT unnest(tags) AS t FROM contacts_app_contact WHERE owner_id = %s ORDER BY t",
                [account.pk],
            )
            tags = [row[0] for row in cur.fetchall()]
        cache.set(key, tags, 60)
    return tags


def tag_list_forget(*, account: SparkAccount) -> None:
    cache.delete(f"tags:{account.pk}")


def failed_writes(*, account: SparkAccount) -> QuerySet[SparkWrite]:
    return SparkWrite.objects.filter(account=account, status=SparkWrite.Status.FAILED).order_by("-updated_at")


def contact_writes(*, contact: Contact) -> QuerySet[SparkWrite]:
    return contact.writes.order_by("-id")


@dataclass(frozen=True)
class HistoryRow:
    """One change made through the app, in plain words, with where it stands with flexmls now."""

    created_at: dt.datetime
    actor_name: str
    source: str
    lines: list[str]
    outcome: str  # pending, confirmed, failed, discarded, cancelled
    outcome_label: str
    message: str


def _tag_of(event: AuditEvent) -> str:
    return (event.write.payload.get("tag", "") if event.write else "") or ""


def _history_lines(event: AuditEvent) -> list[str]:
    from .forms import FIELD_LABELS

    write = event.write
    kind = event.action
    if kind == SparkWrite.Kind.TAG_ADD:
        return [f"Added tag {_tag_of(event)}"]
    if kind == SparkWrite.Kind.TAG_REMOVE:
        return [f"Removed tag {_tag_of(event)}"]
    if kind == SparkWrite.Kind.UPDATE:
        changes = (write.payload.get("changes") if write else None) or event.after or {}
        lines = []
        order = list(FIELD_LABELS)  # the order of the form, not of the stored JSON
        for name, new in sorted(changes.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)):
            old = (event.before or {}).get(name, "")
            label = FIELD_LABELS.get(name, name)
            if old and new:
                lines.append(f"{label}: {old} → {new}")
            elif new:
                lines.append(f"{label}: set to {new}")
            else:
                lines.append(f"{label}: cleared (was {old})")
        return lines or ["Edited the contact"]
    if kind == SparkWrite.Kind.CREATE:
        return ["Added the contact"]
    if kind == SparkWrite.Kind.DELETE:
        return ["Deleted the contact"]
    if kind == SparkWrite.Kind.TRANSFER:
        who = (write.payload.get("owner_name") or write.payload.get("owner_id")) if write else ""
        return [f"Transferred to {who}" if who else "Transferred to another agent"]
    if kind == SparkWrite.Kind.CONNECT:
        return ["Connected the contact"]
    if write is not None:
        return [write.describe()]
    return [SparkWrite.Kind(kind).label if kind in SparkWrite.Kind.values else kind.replace("_", " ").capitalize()]


_OUTCOME_OF_STATUS = {
    SparkWrite.Status.QUEUED: (AuditEvent.Outcome.PENDING, "Waiting for flexmls"),
    SparkWrite.Status.IN_FLIGHT: (AuditEvent.Outcome.PENDING, "Sending to flexmls"),
    SparkWrite.Status.CONFIRMED: (AuditEvent.Outcome.CONFIRMED, "Confirmed by flexmls"),
    SparkWrite.Status.FAILED: (AuditEvent.Outcome.FAILED, "Refused by flexmls"),
    SparkWrite.Status.DISCARDED: (AuditEvent.Outcome.DISCARDED, "Discarded"),
    SparkWrite.Status.CANCELLED: (AuditEvent.Outcome.CANCELLED, "Undone"),
}


def contact_history(*, contact: Contact, limit: int = 100) -> list[HistoryRow]:
    """One row per change (the audit event that made it), showing the write's current outcome.

    The later audit events of a write (confirmed, failed, retried, discarded) are not rows of their own: they are
    where the change stands now, which the write's status says."""
    events = (
        contact.audit_events.select_related("write")
        .filter(Q(write__isnull=True) | Q(outcome=AuditEvent.Outcome.PENDING))
        .order_by("-created_at", "-id")[:limit]
    )
    rows = []
    for event in events:
        write = event.write
        if write is not None:
            outcome, label = _OUTCOME_OF_STATUS[SparkWrite.Status(write.status)]
            if write.status in SparkWrite.OPEN and write.attempts and write.spark_message:
                label = "Trying again"
            if write.status == SparkWrite.Status.FAILED:
                message = write.spark_message
            elif write.status == SparkWrite.Status.DISCARDED:
                message = write.discard_reason
            elif write.status in SparkWrite.OPEN:
                message = write.spark_message
            else:
                message = ""
        else:
            outcome, label, message = event.outcome, event.get_outcome_display(), event.message
        rows.append(HistoryRow(
            created_at=event.created_at, actor_name=event.actor_name,
            source=SparkWrite.Source(event.source).label if event.source in SparkWrite.Source.values else event.source,
            lines=_history_lines(event), outcome=outcome, outcome_label=label, message=message,
        ))
    return rows


def contacts_changed_since(*, account: SparkAccount, since: dt.datetime) -> bool:
    """Has any of the agent's contacts changed in the store since then (a sync or a write)?"""
    return Contact.objects.filter(owner=account, updated_at__gt=since).exists()


@dataclass
class SparkHealth:
    queued: int
    stuck: bool
    message: str


def spark_health(*, account: SparkAccount) -> SparkHealth:
    """Is Spark taking this agent's changes? Writes retried for a while mean it is down or refusing calls."""
    open_writes = SparkWrite.objects.filter(account=account, status__in=SparkWrite.OPEN)
    queued = open_writes.count()
    struggling = open_writes.filter(attempts__gte=1).exclude(spark_message="").filter(
        updated_at__gte=timezone.now() - dt.timedelta(minutes=30)
    ).order_by("-updated_at").first()
    return SparkHealth(queued=queued, stuck=struggling is not None,
                       message=struggling.spark_message if struggling else "")
