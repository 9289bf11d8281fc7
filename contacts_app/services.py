"""Writes to our own store. (Writes to Spark go through the outbox.)"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite
from crm.outbox.queue import WriteRefused, _actor_name, write_queue, write_record
from crm.spark.records import TAG_MAX_LENGTH

from .delivery import contact_write_state_refresh
from .locks import contact_lock, write_contact_lock
from .models import Contact

# -- writes to contacts: store change + outbox row + audit event, in one transaction ----------------------


CONTACT_FIELDS_IN_COLUMNS = {"DisplayName": "display_name", "PrimaryEmail": "primary_email",
                             "PrimaryPhoneNumber": "primary_phone"}


def _apply_attributes(contact: Contact, attrs: dict) -> None:
    for name, value in attrs.items():
        if name in CONTACT_FIELDS_IN_COLUMNS:
            setattr(contact, CONTACT_FIELDS_IN_COLUMNS[name], value)
        contact.attributes[name] = value
    contact.refresh_search_text()


@transaction.atomic
def contact_create(*, account: SparkAccount, user, attributes: dict, source: str = "page",
                   bulk_job: BulkJob | None = None) -> Contact:
    attributes = {k: v for k, v in attributes.items() if v not in ("", None, [])}
    contact = Contact(owner=account, display_name=attributes["DisplayName"], attributes={},
                      write_state=Contact.WriteState.PENDING)
    _apply_attributes(contact, attributes)
    contact.tags = list(attributes.get("Tags", []))
    contact.save()
    write = write_record(account=account, user=user, contact=contact, kind=SparkWrite.Kind.CREATE,
                    payload={"attributes": attributes}, source=source, after=attributes, bulk_job=bulk_job)
    write_queue(write)
    return contact


@transaction.atomic
def contact_update(*, account: SparkAccount, user, contact: Contact, changes: dict, source: str = "page",
                   bulk_job: BulkJob | None = None) -> SparkWrite | None:
    """Send only the fields the agent changed; Spark keeps its values for the others."""
    contact = contact_lock(account=account, pk=contact.pk)
    before = {name: contact.attributes.get(name, "") for name in changes}
    changes = {k: v for k, v in changes.items() if before.get(k, "") != v}
    if not changes:
        return None
    _apply_attributes(contact, changes)
    contact.save()
    write = write_record(account=account, user=user, contact=contact, kind=SparkWrite.Kind.UPDATE,
                    payload={"changes": changes}, source=source, before=before, after=changes, bulk_job=bulk_job)
    write_queue(write)
    return write


@transaction.atomic
def contact_tag_add(*, account: SparkAccount, user, contact: Contact, tag: str, source: str = "page",
                    bulk_job: BulkJob | None = None) -> SparkWrite | None:
    tag = tag.strip()
    if not tag:
        raise WriteRefused("A tag can't be empty.")
    if len(tag) > TAG_MAX_LENGTH:
        raise WriteRefused(f"A tag can be at most {TAG_MAX_LENGTH} characters.")
    contact = contact_lock(account=account, pk=contact.pk)
    before = list(contact.tags)
    if tag not in contact.tags:
        contact.tags = [*contact.tags, tag]
        contact.save(update_fields=["tags", "updated_at"])
    write = write_record(account=account, user=user, contact=contact, kind=SparkWrite.Kind.TAG_ADD, payload={"tag": tag},
                    source=source, before={"Tags": before}, after={"Tags": contact.tags}, bulk_job=bulk_job)
    write_queue(write)
    return write


@transaction.atomic
def contact_tag_remove(*, account: SparkAccount, user, contact: Contact, tag: str, source: str = "page",
                       bulk_job: BulkJob | None = None) -> SparkWrite:
    contact = contact_lock(account=account, pk=contact.pk)
    before = list(contact.tags)
    contact.tags = [t for t in contact.tags if t != tag]
    contact.save(update_fields=["tags", "updated_at"])
    write = write_record(account=account, user=user, contact=contact, kind=SparkWrite.Kind.TAG_REMOVE,
                    payload={"tag": tag}, source=source, before={"Tags": before}, after={"Tags": contact.tags},
                    bulk_job=bulk_job)
    write_queue(write)
    return write


@transaction.atomic
def contact_transfer(*, account: SparkAccount, user, contact: Contact, owner_id: str, owner_name: str = "",
                     source: str = "page", bulk_job: BulkJob | None = None) -> SparkWrite:
    if owner_id == account.spark_user_id:
        raise WriteRefused("The contact already belongs to you.")
    contact = contact_lock(account=account, pk=contact.pk)
    write = write_record(account=account, user=user, contact=contact, kind=SparkWrite.Kind.TRANSFER,
                    payload={"owner_id": owner_id, "owner_name": owner_name}, source=source,
                    before={"OwnerId": account.spark_user_id}, after={"OwnerId": owner_id}, bulk_job=bulk_job)
    write_queue(write)
    return write


@transaction.atomic
def contact_connect(*, account: SparkAccount, user, contact: Contact, source: str = "page") -> SparkWrite:
    contact = contact_lock(account=account, pk=contact.pk)
    if contact.record_status == Contact.RecordStatus.CONNECTED:
        raise WriteRefused("This contact is already connected.")
    write = write_record(account=account, user=user, contact=contact, kind=SparkWrite.Kind.CONNECT,
                    payload={}, source=source, before={"RecordStatus": "Unconnected"},
                    after={"RecordStatus": "Connected"})
    write_queue(write)
    return write


@transaction.atomic
def contact_delete(*, account: SparkAccount, user, contact: Contact, source: str = "page",
                   bulk_job: BulkJob | None = None, undo_s: int | None = None) -> SparkWrite:
    """Hide the contact at once; the delete goes to Spark only after the undo window."""
    undo_s = settings.UNDO_WINDOW_S if undo_s is None else undo_s
    contact = contact_lock(account=account, pk=contact.pk)
    contact.pending_delete = True
    contact.save(update_fields=["pending_delete", "updated_at"])
    write = write_record(account=account, user=user, contact=contact, kind=SparkWrite.Kind.DELETE,
                    payload={"spark_id": contact.spark_id or ""}, source=source,
                    before={"DisplayName": contact.display_name, "PrimaryEmail": contact.primary_email},
                    bulk_job=bulk_job, next_attempt_at=timezone.now() + dt.timedelta(seconds=undo_s))
    write_queue(write, countdown=undo_s)
    return write


@transaction.atomic
def write_undo(*, account: SparkAccount, user, write: SparkWrite, kind: str, hidden_pk: int | None) -> bool:
    """Cancel a write of `kind` still inside its undo window (nothing was sent); the contact it hid (`hidden_pk`)
    shows again. False if it has already gone out."""
    write_contact_lock(write)
    cancelled = SparkWrite.objects.filter(
        pk=write.pk, account=account, kind=kind, status=SparkWrite.Status.QUEUED, attempts=0
    ).update(status=SparkWrite.Status.CANCELLED, updated_at=timezone.now())
    if not cancelled:
        return False
    Contact.objects.filter(pk=hidden_pk, owner=account).update(pending_delete=False)
    AuditEvent.objects.create(
        actor=user, actor_name=_actor_name(user), source=SparkWrite.Source.PAGE, account=account,
        contact_id=write.contact_id, contact_name=write.contact_name, write=write, action=kind,
        outcome=AuditEvent.Outcome.CANCELLED, message="Undone before it was sent",
    )
    transaction.on_commit(lambda: contact_write_state_refresh(write.contact_id))
    return True


def contact_delete_undo(*, account: SparkAccount, user, write: SparkWrite) -> bool:
    """Cancel a delete still inside its undo window. False if it has already gone out."""
    return write_undo(account=account, user=user, write=write, kind=SparkWrite.Kind.DELETE,
                      hidden_pk=write.contact_id)


@transaction.atomic
def write_retry(*, account: SparkAccount, user, write: SparkWrite, source: str = "page") -> bool:
    write_contact_lock(write)
    retried = SparkWrite.objects.filter(pk=write.pk, account=account, status=SparkWrite.Status.FAILED).update(
        status=SparkWrite.Status.QUEUED, next_attempt_at=None, attempts=0, updated_at=timezone.now()
    )
    if not retried:
        return False
    if write.kind == SparkWrite.Kind.DELETE:
        Contact.objects.filter(pk=write.contact_id).update(pending_delete=True)
    if write.kind == SparkWrite.Kind.MERGE:  # the contact merged away is hidden again while the merge goes out
        Contact.objects.filter(pk=write.payload.get("other_pk"), owner=account).update(pending_delete=True)
    Contact.objects.filter(pk=write.contact_id).update(write_state=Contact.WriteState.PENDING)
    AuditEvent.objects.create(
        actor=user, actor_name=_actor_name(user), source=source, account=account,
        contact_id=write.contact_id, contact_name=write.contact_name, write=write, action=write.kind,
        outcome=AuditEvent.Outcome.RETRIED,
    )
    write_queue(write)
    return True


@transaction.atomic
def write_discard(*, account: SparkAccount, user, write: SparkWrite, reason: str = "", source: str = "page") -> bool:
    """Give up a failed write. The contact goes back to Spark's copy at the next sync (a never-created one goes)."""
    write_contact_lock(write)
    discarded = SparkWrite.objects.filter(pk=write.pk, account=account, status=SparkWrite.Status.FAILED).update(
        status=SparkWrite.Status.DISCARDED, discard_reason=reason, updated_at=timezone.now()
    )
    if not discarded:
        return False
    contact = Contact.objects.filter(pk=write.contact_id).first()
    if contact is not None:
        if write.kind == SparkWrite.Kind.CREATE and not contact.spark_id:
            contact.delete()
        else:
            # Let the next sync restore Spark's copy of the row.
            Contact.objects.filter(pk=contact.pk).update(spark_modified_at=None)
    AuditEvent.objects.create(
        actor=user, actor_name=_actor_name(user), source=source, account=account,
        contact_id=contact.pk if contact and contact.pk else None, contact_name=write.contact_name, write=write,
        action=write.kind, outcome=AuditEvent.Outcome.DISCARDED, message=reason,
    )
    transaction.on_commit(lambda: contact_write_state_refresh(write.contact_id))
    if contact is not None and contact.pk and contact.spark_id:
        from .tasks import refresh_contact

        transaction.on_commit(lambda: refresh_contact.delay(contact.pk))
    return True


def contact_activity_refresh_queue(*, contact: Contact) -> bool:
    """Ask the worker to read the contact's activity again, once per ACTIVITY_MAX_AGE_S however many times its page
    is opened meanwhile (a Redis SET NX with that expiry). True if this call queued it."""
    from django.core.cache import cache

    from .tasks import refresh_activity

    if not cache.add(f"activity-refresh-queued:{contact.pk}", 1, settings.ACTIVITY_MAX_AGE_S):
        return False
    refresh_activity.delay(contact.pk)
    return True
