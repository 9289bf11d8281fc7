"""Bulk actions on contacts (tag, untag, transfer, delete): starting a job and preparing its writes, one per contact.
The runner (claims, the sweep, progress) is the outbox's: crm/outbox/bulk.py."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.outbox.models import BulkJob
from crm.outbox.worker import claim_ttl

from . import services
from .locks import contacts_lock
from .models import Contact

log = logging.getLogger(__name__)

MAX_BULK = 50_000
CHUNK = 200


@transaction.atomic
def bulk_job_start(*, account: SparkAccount, user, kind: str, contact_ids: list[int], params: dict,
                   source: str = "bulk") -> BulkJob:
    ids = list(Contact.objects.filter(owner=account, pk__in=contact_ids[:MAX_BULK], pending_delete=False)
               .values_list("pk", flat=True))
    if not ids:
        raise services.WriteRefused("No contacts selected.")
    if kind in (BulkJob.Kind.TAG_ADD, BulkJob.Kind.TAG_REMOVE) and not params.get("tag", "").strip():
        raise services.WriteRefused("Choose a tag.")
    if kind == BulkJob.Kind.TRANSFER and not params.get("owner_id"):
        raise services.WriteRefused("Choose the agent to transfer to.")
    job = BulkJob.objects.create(account=account, created_by=user if user and user.is_authenticated else None,
                                 kind=kind, params=params, contact_ids=ids, total=len(ids), source=source)
    from crm.outbox.tasks import run_bulk_job

    transaction.on_commit(lambda: run_bulk_job.delay(job.pk))
    return job


def contacts_prepare(job: BulkJob) -> int:
    skipped = {s["contact_id"] for s in job.params.get("skipped", [])}
    done = set(job.writes.values_list("contact_id", flat=True)) | skipped
    created = 0
    todo = [pk for pk in job.contact_ids if pk not in done]
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        refused: list[dict] = []
        with transaction.atomic():
            # The lock order of outbox.py: the chunk's contacts at once, in pk order; then their writes.
            contacts = list(contacts_lock(account=job.account, ids=chunk))
            for contact in contacts:
                try:
                    _one(job, contact)  # each service is its own savepoint: a refusal undoes only itself
                    created += 1
                except services.WriteRefused as exc:
                    refused.append({"contact_id": contact.pk, "name": contact.display_name, "reason": str(exc)})
            # A contact gone since the job started (deleted, transferred) has nothing to change: say so.
            found = {c.pk for c in contacts}
            refused += [{"contact_id": pk, "name": "", "reason": "No longer in your contacts."}
                        for pk in chunk if pk not in found]
            if refused:
                # Every item ends with a result, so the job finishes: the skipped ones are counted and listed.
                locked = BulkJob.objects.select_for_update().get(pk=job.pk)
                locked.params = {**locked.params, "skipped": locked.params.get("skipped", []) + refused}
                locked.save(update_fields=["params"])
                job.params = locked.params
        # The heartbeat: a live preparation keeps its claim however many chunks it has.
        BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
            claimed_until=timezone.now() + claim_ttl(), updated_at=timezone.now()
        )
    return created


def _one(job: BulkJob, contact: Contact) -> None:
    common = {"account": job.account, "user": job.created_by, "contact": contact, "source": job.source,
              "bulk_job": job}
    if job.kind == BulkJob.Kind.TAG_ADD:
        services.contact_tag_add(tag=job.params["tag"], **common)
    elif job.kind == BulkJob.Kind.TAG_REMOVE:
        services.contact_tag_remove(tag=job.params["tag"], **common)
    elif job.kind == BulkJob.Kind.TRANSFER:
        services.contact_transfer(owner_id=job.params["owner_id"], owner_name=job.params.get("owner_name", ""),
                                  **common)
    elif job.kind == BulkJob.Kind.DELETE:
        services.contact_delete(undo_s=0, **common)
