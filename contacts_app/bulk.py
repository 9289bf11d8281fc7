"""Bulk actions: one job, one outbox write per contact; the writes carry the per-contact results."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from . import services
from .models import BulkJob, Contact, SparkAccount, SparkWrite

MAX_BULK = 50_000


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
    from .tasks import run_bulk_job

    transaction.on_commit(lambda: run_bulk_job.delay(job.pk))
    return job


def bulk_job_prepare(*, job: BulkJob) -> int:
    """Create the job's outbox writes in chunks (each chunk one transaction); the outbox delivers them."""
    if job.status != BulkJob.Status.PREPARING:
        return 0
    done = set(job.writes.values_list("contact_id", flat=True))
    created = 0
    todo = [pk for pk in job.contact_ids if pk not in done]
    for start in range(0, len(todo), 200):
        chunk = todo[start:start + 200]
        with transaction.atomic():
            for contact in Contact.objects.filter(owner=job.account, pk__in=chunk):
                try:
                    _one(job, contact)
                    created += 1
                except services.WriteRefused:
                    continue
    BulkJob.objects.filter(pk=job.pk).update(status=BulkJob.Status.RUNNING, updated_at=timezone.now())
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


@dataclass
class BulkProgress:
    total: int
    confirmed: int
    failed: int
    open: int

    @property
    def finished(self) -> int:
        return self.confirmed + self.failed

    @property
    def percent(self) -> int:
        return int(100 * self.finished / self.total) if self.total else 100

    @property
    def done(self) -> bool:
        return self.total > 0 and self.finished >= self.total


def bulk_job_progress(*, job: BulkJob) -> BulkProgress:
    counts = job.writes.aggregate(
        confirmed=Count("pk", filter=Q(status=SparkWrite.Status.CONFIRMED)),
        failed=Count("pk", filter=Q(status__in=[SparkWrite.Status.FAILED, SparkWrite.Status.DISCARDED])),
        open=Count("pk", filter=Q(status__in=SparkWrite.OPEN)),
    )
    progress = BulkProgress(total=job.total, **counts)
    if progress.done and job.status != BulkJob.Status.DONE:
        BulkJob.objects.filter(pk=job.pk).update(status=BulkJob.Status.DONE, finished_at=timezone.now())
    return progress
