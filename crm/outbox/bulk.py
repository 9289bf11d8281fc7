"""Bulk jobs: one job, many outbox writes (one per item); the writes carry the per-item results.

The runner is the same for every kind: a worker claims the job's preparation (a conditional UPDATE, so one worker at
a time; a claim whose worker died runs out), the kind's preparer makes the writes, the sweep resumes a preparation
that died and stops one out of tries, and progress is read from the writes. Each app registers the preparer of its
kinds with `register_preparer` (contacts_app: tags, transfers, deletes; its CSV import; newsfeeds_app: schedules).
Every kind shows on the one job page (templates/outbox/bulk_job.html): its skipped items, then its writes.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.utils import timezone

from .models import BulkJob, SparkWrite
from .worker import claim_ttl

log = logging.getLogger(__name__)

BULK_PREPARE_MAX_TRIES = 3
# {kind: prepare(job) -> writes made}; the one under None prepares the kinds without their own.
PREPARERS: dict[str | None, Callable[[BulkJob], int]] = {}


def register_preparer(kind: str | None, prepare: Callable[[BulkJob], int]) -> None:
    """`prepare(job)` makes the job's writes, in chunks, and is safe to run again (items done are skipped)."""
    PREPARERS[kind] = prepare


def bulk_job_claim(job_id: int) -> BulkJob | None:
    """Claim a job's preparation with one conditional UPDATE: one worker at a time, and a claim whose worker died
    runs out (the sweep then hands the job to another)."""
    now = timezone.now()
    claimed = (
        BulkJob.objects.filter(pk=job_id, status=BulkJob.Status.PREPARING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + claim_ttl(), prepare_tries=F("prepare_tries") + 1, updated_at=now)
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
        created = (PREPARERS.get(job.kind) or PREPARERS[None])(job)
    except Exception as exc:
        log.exception("bulk job %s: preparation failed", job.pk)
        _prepare_failed(job, f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]}".rstrip(": "))
        return 0
    BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
        status=BulkJob.Status.RUNNING, claimed_until=None, failure_reason="", updated_at=timezone.now()
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


@dataclass
class BulkProgress:
    total: int
    confirmed: int
    failed: int
    open: int
    skipped: int = 0
    held_s: int = 0  # seconds left of the job's undo window, while its writes wait it out

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
    progress = BulkProgress(total=job.total, skipped=len(job.params.get("skipped", [])), held_s=_held_s(job),
                            **counts)
    if progress.done and job.status not in (BulkJob.Status.DONE, BulkJob.Status.CANCELLED):
        BulkJob.objects.filter(pk=job.pk).update(status=BulkJob.Status.DONE, finished_at=timezone.now())
    return progress


def _held_s(job: BulkJob) -> int:
    """Seconds until the writes of a job with an undo window (`params["undo_until"]`, e.g. a bulk merge's) go out;
    0 once it is over, or the job finished or was undone."""
    until = job.params.get("undo_until")
    if not until or job.status not in (BulkJob.Status.PREPARING, BulkJob.Status.RUNNING):
        return 0
    return max(0, math.ceil((dt.datetime.fromisoformat(until) - timezone.now()).total_seconds()))


# Failures first (with Spark's message), then what is on its way, then what went through.
RESULT_ORDER = Case(When(status__in=[SparkWrite.Status.FAILED, SparkWrite.Status.DISCARDED], then=Value(0)),
                    When(status=SparkWrite.Status.CONFIRMED, then=Value(2)), default=Value(1))


def bulk_job_results(*, job: BulkJob) -> QuerySet[SparkWrite]:
    """The job's writes as its result list shows them (the skipped items are in `job.params["skipped"]`)."""
    return job.writes.order_by(RESULT_ORDER, "contact_name", "payload__feed_name", "pk")
