"""Reads of the agent's changes: writes and bulk jobs by id, refusals, a contact's history, where it went."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from crm.agents.models import SparkAccount
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite

from .fields import FIELD_LABELS
from .models import Contact


def contact_gone_note(*, account: SparkAccount, pk) -> SparkWrite | None:
    """The confirmed transfer, delete or merge by which this agent's contact `pk` left them (None if it never was
    theirs). A merge's write is the survivor's: `payload["other_pk"]` is the contact merged away."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    confirmed = SparkWrite.objects.filter(account=account, status=SparkWrite.Status.CONFIRMED)
    gone = (confirmed.filter(kind__in=[SparkWrite.Kind.TRANSFER, SparkWrite.Kind.DELETE], payload__contact_pk=pk)
            | confirmed.filter(kind=SparkWrite.Kind.MERGE, payload__other_pk=pk))
    return gone.order_by("-confirmed_at", "-id").first()


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
