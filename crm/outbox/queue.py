"""Queueing a write: its outbox row and audit event, saved with the store change, and sent once that commits."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from crm.agents.models import SparkAccount

from .models import AuditEvent, BulkJob, SparkWrite


class WriteRefused(Exception):
    """A change the app refuses before anything is queued (the message is for the agent)."""


def write_queue(write: SparkWrite, *, countdown: float = 0) -> None:
    """Send the write to the outbox worker once the surrounding transaction commits."""
    from .tasks import deliver_write

    def send():
        if countdown:
            deliver_write.apply_async((write.pk,), countdown=countdown)
        else:
            deliver_write.delay(write.pk)

    # robust: if Redis is down the write is already saved; the beat sweep sends it once the broker is back.
    transaction.on_commit(send, robust=True)


def _actor_name(user) -> str:
    if user is None:
        return "Background job"
    return user.get_full_name() or user.get_username()


def write_record(
    *, account: SparkAccount, user, contact=None, kind: str, payload: dict, source: str,
    before: dict | None = None, after: dict | None = None, bulk_job: BulkJob | None = None,
    next_attempt_at=None,
) -> SparkWrite:
    """Add an outbox row and its audit event (call inside the transaction that changes the store)."""
    if contact is not None and kind in (SparkWrite.Kind.TRANSFER, SparkWrite.Kind.DELETE):
        # Kept past the row's removal, so the contact's old page can say where it went.
        payload = {**payload, "contact_pk": contact.pk}
    write = SparkWrite.objects.create(
        account=account, contact=contact, contact_name=contact.display_name if contact else "", kind=kind,
        payload=payload, created_by=user if user is not None and user.is_authenticated else None, source=source,
        bulk_job=bulk_job, next_attempt_at=next_attempt_at,
    )
    AuditEvent.objects.create(
        actor=write.created_by, actor_name=_actor_name(user), source=source, account=account, contact=contact,
        contact_spark_id=(contact.spark_id or "") if contact else "", contact_name=write.contact_name,
        write=write, action=kind, before=before or {}, after=after or {},
    )
    if contact is not None:
        # The contact (contacts_app.Contact) shows its change as pending until the outbox settles it.
        type(contact).objects.filter(pk=contact.pk).update(write_state=type(contact).WriteState.PENDING)
        contact.write_state = type(contact).WriteState.PENDING
    return write


def writes_resume_for_account(sender, *, account: SparkAccount, **kwargs) -> None:
    """The agent linked again (account_linked): the writes that waited for the link go out now."""
    waiting = list(SparkWrite.objects.filter(account=account, status=SparkWrite.Status.QUEUED)
                   .values_list("pk", flat=True))
    SparkWrite.objects.filter(pk__in=waiting).update(next_attempt_at=None, updated_at=timezone.now())

    def resume():
        from .tasks import deliver_write

        for write_id in waiting:
            deliver_write.delay(write_id)

    transaction.on_commit(resume)
