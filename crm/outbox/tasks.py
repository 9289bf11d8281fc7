"""Celery tasks of the outbox: thin interfaces that load by id and call the worker."""

from __future__ import annotations

from celery import shared_task

from . import bulk, worker
from .models import BulkJob


@shared_task(acks_late=True)
def deliver_write(write_id: int) -> str:
    return worker.write_deliver(write_id)


@shared_task
def sweep_outbox() -> int:
    return worker.outbox_sweep()


@shared_task(acks_late=True)
def run_bulk_job(job_id: int) -> int:
    job = BulkJob.objects.select_related("account", "created_by").filter(pk=job_id).first()
    return bulk.bulk_job_prepare(job=job) if job else 0


# The names these tasks had while the outbox lived in contacts_app: messages queued before an upgrade still run.
shared_task(acks_late=True, name="contacts_app.tasks.deliver_write")(worker.write_deliver)
shared_task(name="contacts_app.tasks.sweep_outbox")(worker.outbox_sweep)
shared_task(acks_late=True, name="contacts_app.tasks.run_bulk_job")(run_bulk_job.run)
