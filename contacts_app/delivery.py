"""Delivering the contacts' writes to Spark: one handler per kind, registered with the outbox (crm.outbox) by the
app's AppConfig.ready(), and what follows a write's settling (the contact's pending/failed state)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from crm.outbox.models import SparkWrite
from crm.outbox.registry import Permanent
from crm.spark import SparkClient
from crm.spark.errors import SparkConflict, SparkNotFound
from crm.spark.records import ContactRecord, parse_timestamp

from .fields import CONTACT_EXPAND
from .models import Contact, build_search_text

# Spark's timestamps are whole seconds and its clock is not ours: a contact created up to this long before our
# first attempt may still be the one that attempt created.
CREATE_CLOCK_SLACK = dt.timedelta(seconds=5)


def contact_write_state_refresh(contact_id: int | None) -> None:
    if not contact_id:
        return
    statuses = set(
        SparkWrite.objects.filter(contact_id=contact_id, status__in=[*SparkWrite.OPEN, SparkWrite.Status.FAILED])
        .values_list("status", flat=True)
    )
    state = (
        Contact.WriteState.FAILED if SparkWrite.Status.FAILED in statuses
        else Contact.WriteState.PENDING if statuses else Contact.WriteState.SYNCED
    )
    Contact.objects.filter(pk=contact_id).exclude(write_state=state).update(write_state=state, updated_at=timezone.now())


def _has_other_open_writes(write: SparkWrite) -> bool:
    return SparkWrite.objects.filter(contact_id=write.contact_id, status__in=SparkWrite.OPEN).exclude(pk=write.pk).exists()


def store_contact_from_spark(contact: Contact, record: ContactRecord) -> None:
    """Take Spark's copy of a contact into the store row."""
    contact.spark_id = record.id
    contact.display_name = record.display_name[:75]
    contact.primary_email = record.primary_email[:75]
    contact.primary_phone = record.primary_phone[:300]
    contact.tags = record.tags
    contact.record_status = record.record_status if record.record_status in Contact.RecordStatus.values else "Connected"
    if record.score is not None:
        contact.score, contact.relative_score = record.score, record.relative_score
    contact.attributes = record.attributes
    contact.spark_modified_at = record.modified_at
    contact.spark_created_at = record.created_at
    contact.synced_at = timezone.now()
    contact.search_text = build_search_text(contact.display_name, contact.primary_email, contact.primary_phone)
    contact.save()


def _fetch_contact(client: SparkClient, spark_id: str) -> ContactRecord:
    resp = client.request("GET", f"/contacts/{spark_id}", params={"_expand": CONTACT_EXPAND})
    return ContactRecord.from_api(resp.results[0])


# -- handlers: one per kind; each may run again after an unknown outcome ----------------------------------


def sparkql_string(value: str) -> str:
    """A SparkQL character literal: single quotes, with backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _find_landed_create(client: SparkClient, write: SparkWrite, attrs: dict) -> str | None:
    """After a create whose outcome is unknown, look for it before posting again (Spark has no idempotency keys).

    Only a contact Spark created after this write was first sent counts (less a little clock slack), and only one
    that no other row of the store holds: an older contact with the same name (a create without an e-mail is
    looked up by name) or the same e-mail is never taken for ours — adopting it would give two rows one Spark id.
    """
    email, name = attrs.get("PrimaryEmail"), attrs.get("DisplayName", "")
    if email:
        expr = f"PrimaryEmail Eq {sparkql_string(email)}"
    else:
        expr = f"DisplayName Eq {sparkql_string(name)}"
    since = (write.first_attempt_at or write.created_at) - CREATE_CLOCK_SLACK
    resp = client.request("GET", "/contacts", params={"_filter": expr, "_limit": 25})
    candidates = []
    for item in resp.results:
        if item.get("DisplayName") != name or (email and item.get("PrimaryEmail") != email):
            continue
        created = parse_timestamp(item.get("CreatedTimestamp")) or parse_timestamp(item.get("ModificationTimestamp"))
        if created is None or created < since:
            continue
        candidates.append((created, str(item["Id"])))
    for _created, spark_id in sorted(candidates):
        if _spark_id_free_for(write, spark_id):
            return spark_id
    return None


def _sent_before(write: SparkWrite) -> bool:
    """Whether an earlier attempt may have reached Spark. The claim sets first_attempt_at only on the first one
    (to its own `now`, as updated_at), and the agent's Retry restarts `attempts` but keeps first_attempt_at."""
    return write.attempts > 1 or (write.first_attempt_at is not None and write.first_attempt_at < write.updated_at)


def _spark_id_free_for(write: SparkWrite, spark_id: str) -> bool:
    """True when no other row of the store holds `spark_id`. A row the sync brought in after our first attempt,
    that nobody has changed here since, is the sync's copy of our own landed create: it gives way to ours."""
    others = Contact.objects.filter(spark_id=spark_id).exclude(pk=write.contact_id)
    if not others.exists():
        return True
    since = write.first_attempt_at or write.created_at
    sync_copy = others.filter(owner_id=write.account_id, created_at__gte=since, writes__isnull=True)
    with transaction.atomic():
        sync_copy.delete()
        return not others.exists()


def _deliver_create(client: SparkClient, write: SparkWrite) -> None:
    attrs = write.payload["attributes"]
    contact = write.contact
    spark_id = contact.spark_id if contact is not None and contact.spark_id else None
    if spark_id is None and _sent_before(write):
        spark_id = _find_landed_create(client, write, attrs)
    if spark_id is None:
        try:
            resp = client.request("POST", "/contacts", data=attrs)
        except SparkConflict:
            # A duplicate of... our own earlier attempt? Adopt it only if it is one (see _find_landed_create).
            spark_id = _find_landed_create(client, write, attrs)
            if spark_id is None:
                raise
        else:
            first = resp.results[0] if resp.results else {}
            spark_id = str(first.get("Id") or str(first.get("ResourceUri", "")).rstrip("/").rsplit("/", 1)[-1])
    if contact is not None:
        contact.spark_id = spark_id
        contact.save(update_fields=["spark_id", "updated_at"])  # kept even if what follows fails
        if not _has_other_open_writes(write):
            store_contact_from_spark(contact, _fetch_contact(client, spark_id))


def _require_spark_id(write: SparkWrite) -> str:
    contact = write.contact
    if contact is None or not contact.spark_id:
        raise Permanent("The contact no longer exists here, or was never created in Spark.")
    return contact.spark_id


def _deliver_update(client: SparkClient, write: SparkWrite) -> None:
    spark_id = _require_spark_id(write)
    client.request("PUT", f"/contacts/{spark_id}", data=write.payload["changes"])
    if not _has_other_open_writes(write):
        store_contact_from_spark(write.contact, _fetch_contact(client, spark_id))


def _deliver_tags(client: SparkClient, write: SparkWrite) -> None:
    """Tags are a list on the contact: read Spark's list, apply the delta, put the whole list back."""
    spark_id = _require_spark_id(write)
    current = _fetch_contact(client, spark_id)
    tag = write.payload["tag"]
    if write.kind == SparkWrite.Kind.TAG_ADD:
        wanted = current.tags if tag in current.tags else [*current.tags, tag]
    else:
        wanted = [t for t in current.tags if t != tag]
    if wanted != current.tags:
        client.request("PUT", f"/contacts/{spark_id}", data={"Tags": wanted})
    current.tags = wanted
    if not _has_other_open_writes(write):
        store_contact_from_spark(write.contact, current)


def _deliver_connect(client: SparkClient, write: SparkWrite) -> None:
    spark_id = _require_spark_id(write)
    client.request("PUT", f"/contacts/{spark_id}", data={"RecordStatus": "Connected"})
    Contact.objects.filter(pk=write.contact_id).update(record_status=Contact.RecordStatus.CONNECTED)


def _deliver_delete(client: SparkClient, write: SparkWrite) -> None:
    spark_id = _require_spark_id(write)
    try:
        client.request("DELETE", f"/contacts/{spark_id}")
    except SparkNotFound:
        if write.attempts <= 1:
            raise
        # An earlier attempt landed before its answer was lost.
    Contact.objects.filter(pk=write.contact_id).delete()


def _deliver_transfer(client: SparkClient, write: SparkWrite) -> None:
    spark_id = _require_spark_id(write)
    try:
        client.request("PUT", f"/contacts/{spark_id}", data={"OwnerId": write.payload["owner_id"]})
    except SparkNotFound:
        if write.attempts <= 1:
            raise
    # The contact now belongs to the other agent; their sync brings it to them.
    Contact.objects.filter(pk=write.contact_id).delete()


HANDLERS: dict[str, Callable[[SparkClient, SparkWrite], None]] = {
    SparkWrite.Kind.CREATE: _deliver_create,
    SparkWrite.Kind.UPDATE: _deliver_update,
    SparkWrite.Kind.TAG_ADD: _deliver_tags,
    SparkWrite.Kind.TAG_REMOVE: _deliver_tags,
    SparkWrite.Kind.CONNECT: _deliver_connect,
    SparkWrite.Kind.DELETE: _deliver_delete,
    SparkWrite.Kind.TRANSFER: _deliver_transfer,
}


def write_settled(write: SparkWrite) -> None:
    """After every delivery attempt: the contact shows whether a change of it is pending, failed or none."""
    contact_write_state_refresh(write.contact_id)


def delete_failed(write: SparkWrite) -> None:
    """A delete Spark refused for good: the contact is shown again, with its failed change."""
    if write.contact_id:
        Contact.objects.filter(pk=write.contact_id).update(pending_delete=False)
