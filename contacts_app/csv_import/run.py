"""The run: a bulk job whose creates and updates go through the outbox; cancelling it."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from crm.outbox.bulk import register_preparer
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite
from crm.outbox.worker import claim_ttl

from .. import bulk, services
from ..csv_models import CsvImport, CsvImportRow
from ..delivery import contact_write_state_refresh
from ..models import Contact
from .claims import _inline_rows
from .classify import csv_import_classify, planned_writes

log = logging.getLogger(__name__)


# -- the run: a bulk job ---------------------------------------------------------------------------------------


@transaction.atomic
def csv_import_start(*, imp: CsvImport, user) -> BulkJob:
    imp = CsvImport.objects.select_for_update().get(pk=imp.pk)
    if imp.job_id:
        raise services.WriteRefused("This import has already run.")
    if imp.state != CsvImport.State.READY:
        raise services.WriteRefused("The file is still being read: the import can start once its preview shows.")
    params = {"import_id": imp.pk, "filename": imp.filename}
    if imp.row_count > _inline_rows():
        # A large import is checked against the store again by the worker before its first create (it takes longer
        # than a request may); the total is the preview's until then.
        counts = {a: imp.counts.get(a, 0) for a in CsvImportRow.Action.values}
        total = counts["create"] + counts["update"]
        params["classify"] = True
    else:
        counts = csv_import_classify(imp=imp)  # against the store as it is now, not as it was at the preview
        total = _planned_total(imp)
    if not total:
        raise services.WriteRefused(_nothing_to_import(counts))
    job = BulkJob.objects.create(account=imp.account, created_by=user if user and user.is_authenticated else None,
                                 kind=BulkJob.Kind.CSV_IMPORT, params=params, total=total,
                                 source=SparkWrite.Source.BULK)
    imp.job = job
    imp.save(update_fields=["job", "updated_at"])
    from crm.outbox.tasks import run_bulk_job

    transaction.on_commit(lambda: run_bulk_job.delay(job.pk))
    return job


def _planned_total(imp: CsvImport) -> int:
    return sum(planned_writes(r) for r in imp.rows.filter(
        action__in=[CsvImportRow.Action.CREATE, CsvImportRow.Action.UPDATE]).only("action", "planned"))


def _nothing_to_import(counts: dict) -> str:
    return f"Nothing to import: {counts['invalid']} invalid, {counts['skip']} already in your contacts."


def _heartbeat(job: BulkJob) -> None:
    BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
        claimed_until=timezone.now() + claim_ttl(), updated_at=timezone.now())


def csv_import_prepare(job: BulkJob) -> int:
    """The creates and updates of the job's rows, in chunks (each one transaction, holding the job's row so a
    cancel waits for it and then takes back what it queued). Safe to run again: rows with their writes are done."""
    imp = CsvImport.objects.get(job=job)
    if job.params.get("classify") and not imp.rows.exclude(write_ids=[]).exists():
        counts = csv_import_classify(imp=imp, progress=lambda _done: _heartbeat(job))
        total = _planned_total(imp)
        now = timezone.now()
        if not total:
            BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
                status=BulkJob.Status.FAILED, failure_reason=_nothing_to_import(counts), claimed_until=None,
                finished_at=now, updated_at=now)
            return 0
        BulkJob.objects.filter(pk=job.pk).update(total=total, updated_at=now)
        job.total = total
    todo = list(imp.rows.filter(action__in=[CsvImportRow.Action.CREATE, CsvImportRow.Action.UPDATE],
                                write_ids=[]).order_by("line").values_list("pk", flat=True))
    created = 0
    for start in range(0, len(todo), bulk.CHUNK):
        with transaction.atomic():
            locked = BulkJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != BulkJob.Status.PREPARING:
                return created  # cancelled
            skipped = []
            rows = list(CsvImportRow.objects.filter(pk__in=todo[start:start + bulk.CHUNK]).order_by("line"))
            for row in rows:
                made, refused = _row_writes(job, row)
                row.write_ids = made
                created += len(made)
                skipped += [{"contact_id": row.contact_id, "name": row.planned.get("attributes", {}).get(
                    "DisplayName", "") or f"line {row.line}", "reason": refused}] * (planned_writes(row) - len(made))
                if refused:
                    row.reason = f"{row.reason}; {refused}".lstrip("; ")
            CsvImportRow.objects.bulk_update(rows, ["write_ids", "contact", "reason"])
            if skipped:
                locked.params = {**locked.params, "skipped": locked.params.get("skipped", []) + skipped}
                locked.save(update_fields=["params"])
        _heartbeat(job)
    return created


def _row_writes(job: BulkJob, row: CsvImportRow) -> tuple[list[int], str]:
    common = {"account": job.account, "user": job.created_by, "source": SparkWrite.Source.BULK, "bulk_job": job}
    if row.action == CsvImportRow.Action.CREATE:
        contact = services.contact_create(attributes=row.planned["attributes"], **common)
        row.contact = contact
        return list(contact.writes.filter(bulk_job=job).values_list("pk", flat=True)), ""
    contact = Contact.objects.filter(pk=row.contact_id, owner=job.account, pending_delete=False).first()
    if contact is None:
        return [], "No longer in your contacts."
    made = []
    try:
        if row.planned.get("changes"):
            write = services.contact_update(contact=contact, changes=row.planned["changes"], **common)
            if write is not None:
                made.append(write.pk)
        for tag in row.planned.get("tags", []):
            write = services.contact_tag_add(contact=contact, tag=tag, **common)
            if write is not None:
                made.append(write.pk)
    except (services.WriteRefused, Contact.DoesNotExist) as exc:
        return made, str(exc) or "No longer in your contacts."
    return made, "" if len(made) == planned_writes(row) else "Already up to date."


register_preparer(BulkJob.Kind.CSV_IMPORT, csv_import_prepare)


@transaction.atomic
def csv_import_cancel(*, job: BulkJob, user) -> int | None:
    """Stop the import: nothing more is queued, and queued writes never sent are taken back (a contact only ever
    created here goes). What was sent stays. Returns the writes taken back (None: the job had finished)."""
    locked = BulkJob.objects.select_for_update().get(pk=job.pk)
    if locked.status not in (BulkJob.Status.PREPARING, BulkJob.Status.RUNNING):
        return None
    unsent = SparkWrite.objects.select_for_update().filter(bulk_job=job, status=SparkWrite.Status.QUEUED,
                                                           attempts=0)
    rows = list(unsent.values_list("pk", "contact_id", "kind", "contact_name"))
    SparkWrite.objects.filter(pk__in=[r[0] for r in rows], status=SparkWrite.Status.QUEUED, attempts=0).update(
        status=SparkWrite.Status.CANCELLED, updated_at=timezone.now())
    actor = (user.get_full_name() or user.get_username()) if user else "Background job"
    AuditEvent.objects.bulk_create([AuditEvent(
        actor=user, actor_name=actor, source=SparkWrite.Source.BULK, account=job.account, contact_id=contact_id,
        contact_name=name, write_id=pk, action=kind, outcome=AuditEvent.Outcome.CANCELLED,
        message="The import was cancelled before this was sent") for pk, contact_id, kind, name in rows],
        batch_size=1000)
    never_created = [c for _, c, kind, _ in rows if kind == SparkWrite.Kind.CREATE and c]
    Contact.objects.filter(pk__in=never_created, spark_id__isnull=True).delete()
    others = {c for _, c, kind, _ in rows if kind != SparkWrite.Kind.CREATE and c}
    transaction.on_commit(lambda: [contact_write_state_refresh(c) for c in others])
    BulkJob.objects.filter(pk=job.pk).update(
        status=BulkJob.Status.CANCELLED, claimed_until=None, finished_at=timezone.now(), updated_at=timezone.now(),
        total=SparkWrite.objects.filter(bulk_job=job).exclude(status=SparkWrite.Status.CANCELLED).count()
        + len(locked.params.get("skipped", [])))
    return len(rows)
