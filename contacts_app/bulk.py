"""Bulk actions: one job, one outbox write per contact; the writes carry the per-contact results."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.outbox.models import BulkJob, SparkWrite

from . import services
from .locks import contacts_lock
from .models import Contact

log = logging.getLogger(__name__)

MAX_BULK = 50_000
CHUNK = 200
BULK_PREPARE_MAX_TRIES = 3
# Kinds whose items are not the store's contacts prepare through a function of their own: {kind: prepare(job)}.
PREPARERS: dict = {}


def _claim_ttl() -> dt.timedelta:
    return dt.timedelta(seconds=settings.OUTBOX_CLAIM_S)


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


def bulk_job_claim(job_id: int) -> BulkJob | None:
    """Claim a job's preparation with one conditional UPDATE: one worker at a time, and a claim whose worker died
    runs out (the sweep then hands the job to another)."""
    now = timezone.now()
    claimed = (
        BulkJob.objects.filter(pk=job_id, status=BulkJob.Status.PREPARING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + _claim_ttl(), prepare_tries=F("prepare_tries") + 1, updated_at=now)
    )
    if not claimed:
        return None
    return BulkJob.objects.select_related("account", "created_by").get(pk=job_id)


def bulk_job_prepare(*, job: BulkJob) -> int:
    """Create the job's outbox writes in chunks (each chunk one transaction); the outbox delivers them.

    Safe to run again: contacts that already have their write are skipped. An error stops this run and is kept
    on the job; the sweep runs it again, and after BULK_PREPARE_MAX_TRIES the job stops with the reason."""
    job = bulk_job_claim(job.pk)
    if job is None:
        return 0
    try:
        created = PREPARERS.get(job.kind, _prepare)(job)
    except Exception as exc:
        log.exception("bulk job %s: preparation failed", job.pk)
        _prepare_failed(job, f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]}".rstrip(": "))
        return 0
    BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
        status=BulkJob.Status.RUNNING, claimed_until=None, failure_reason="", updated_at=timezone.now()
    )
    return created


def _prepare(job: BulkJob) -> int:
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
            claimed_until=timezone.now() + _claim_ttl(), updated_at=timezone.now()
        )
    return created


def _prepare_failed(job: BulkJob, error: str) -> None:
    """Give the job back to the sweep, or stop it with the reason once it has had its tries."""
    now = timezone.now()
    queued = job.writes.count()
    if job.prepare_tries >= BULK_PREPARE_MAX_TRIES:
        reason = (f"Preparation stopped after {job.prepare_tries} tries ({error}); {queued} of {job.total} "
                  "changes were queued and go out, the others were not made.")
        BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
            status=BulkJob.Status.FAILED, claimed_until=None, failure_reason=reason, finished_at=now, updated_at=now
        )
        log.warning("bulk job %s stopped: %s", job.pk, error)
        return
    # The error is kept for the reason shown if the job stops; the sweep gives it its next try.
    BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
        claimed_until=None, failure_reason=error, updated_at=now
    )


def bulk_jobs_sweep() -> int:
    """Resume bulk jobs whose preparation died (worker killed, exception, lost message); stop the ones out of tries.
    Run by the outbox sweep."""
    from .tasks import run_bulk_job

    now = timezone.now()
    stale = (
        BulkJob.objects.filter(status=BulkJob.Status.PREPARING)
        .exclude(params__has_key="offboarding")  # offboarding prepares through its own runner
        .filter(Q(claimed_until__lt=now) | Q(
            claimed_until__isnull=True, updated_at__lt=now - dt.timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_S)))
    )
    resumed = 0
    for job in stale.select_related("account"):
        if job.prepare_tries >= BULK_PREPARE_MAX_TRIES:
            died = job.claimed_until is not None or not job.failure_reason
            _prepare_failed(job, "its worker stopped before it finished" if died else job.failure_reason)
            continue
        run_bulk_job.delay(job.pk)
        resumed += 1
    return resumed


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
    skipped: int = 0

    @property
    def finished(self) -> int:
        return self.confirmed + self.failed + self.skipped

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
    progress = BulkProgress(total=job.total, skipped=len(job.params.get("skipped", [])), **counts)
    if progress.done and job.status not in (BulkJob.Status.DONE, BulkJob.Status.CANCELLED):
        BulkJob.objects.filter(pk=job.pk).update(status=BulkJob.Status.DONE, finished_at=timezone.now())
    return progress
