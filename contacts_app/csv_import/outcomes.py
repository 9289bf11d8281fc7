"""Each row's outcome, the counts, and the failures as a CSV."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator

from django.db.models import Count

from crm.outbox.models import BulkJob, SparkWrite

from ..csv_models import CsvImport, CsvImportRow

log = logging.getLogger(__name__)


# -- outcomes -------------------------------------------------------------------------------------------------------

OUTCOME_LABELS = {"created": "Created", "updated": "Filled in", "sending": "Sending", "waiting": "Waiting",
                  "failed": "Refused by flexmls", "invalid": "Invalid", "skipped": "Skipped",
                  "cancelled": "Not sent (cancelled)"}
PROBLEM_OUTCOMES = ("invalid", "failed", "cancelled")


def row_outcome(row: CsvImportRow, writes: dict[int, tuple[str, str]], job: BulkJob | None) -> tuple[str, str]:
    """(outcome, detail) of one row, from its action and its writes' statuses ({id: (status, message)})."""
    if row.action == CsvImportRow.Action.INVALID:
        return "invalid", row.reason
    if row.action == CsvImportRow.Action.SKIP:
        return "skipped", row.reason
    if job is None:
        return "waiting", "Not started"
    if not row.write_ids:
        if job.status == BulkJob.Status.CANCELLED:
            return "cancelled", "Not sent: the import was cancelled"
        return ("skipped", row.reason) if job.status != BulkJob.Status.PREPARING else ("waiting", "Not sent yet")
    statuses = [writes.get(pk, (SparkWrite.Status.DISCARDED, "")) for pk in row.write_ids]
    failed = [m for s, m in statuses if s in (SparkWrite.Status.FAILED, SparkWrite.Status.DISCARDED)]
    if failed:
        return "failed", failed[0] or "flexmls refused it"
    if any(s == SparkWrite.Status.CANCELLED for s, _ in statuses):
        return "cancelled", "Not sent: the import was cancelled"
    if all(s == SparkWrite.Status.CONFIRMED for s, _ in statuses):
        return ("created", "") if row.action == CsvImportRow.Action.CREATE else ("updated", row.reason)
    return "sending", next((m for s, m in statuses if m), "")


def write_statuses(job: BulkJob | None, ids: list[int] | None = None) -> dict[int, tuple[str, str]]:
    if job is None:
        return {}
    qs = SparkWrite.objects.filter(bulk_job=job)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return {pk: (status, message) for pk, status, message in qs.values_list("pk", "status", "spark_message")}


def outcome_counts(imp: CsvImport) -> dict[str, int]:
    job = imp.job
    counts = {k: 0 for k in OUTCOME_LABELS}
    if job is None:
        return counts
    by_action = import_counts_by_action(imp)
    counts["invalid"], counts["skipped"] = by_action["invalid"], by_action["skip"]
    writes = write_statuses(job)
    # Polled every second while the job runs: only the sent rows' actions and write ids are read.
    for action, write_ids in imp.rows.filter(action__in=[CsvImportRow.Action.CREATE, CsvImportRow.Action.UPDATE]) \
            .values_list("action", "write_ids").iterator(5000):
        counts[row_outcome(CsvImportRow(action=action, write_ids=write_ids), writes, job)[0]] += 1
    return counts


def failures_csv_lines(imp: CsvImport) -> Iterator[str]:
    """The rows that did not make it (invalid, refused by flexmls, not sent), as they were in the file, with a
    last column saying why: fix them and import this file again."""
    from ..csv_export import _Echo, cell_escape

    writer = csv.writer(_Echo())
    writes = write_statuses(imp.job)
    yield "\ufeff"
    yield writer.writerow([*imp.headers, "Import problem"])
    for row in imp.rows.order_by("line").iterator(2000):
        outcome, detail = row_outcome(row, writes, imp.job)
        if outcome in PROBLEM_OUTCOMES:
            cells = list(row.values) + [""] * (len(imp.headers) - len(row.values))
            yield writer.writerow([cell_escape(c) for c in cells] + [cell_escape(f"Line {row.line}: {detail}")])


def import_counts_by_action(imp: CsvImport) -> dict[str, int]:
    counts = {a: 0 for a in CsvImportRow.Action.values}
    counts.update(dict(imp.rows.values_list("action").annotate(n=Count("pk")).values_list("action", "n")))
    return counts
