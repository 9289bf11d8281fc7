"""Celery tasks: thin interfaces that load by id and call a service."""

from __future__ import annotations

from celery import shared_task

from crm.agents.models import SparkAccount

from . import bulk, sync
from .models import ScheduleBulkJob


@shared_task(acks_late=True)
def sync_agent_newsfeeds(account_id: int) -> dict:
    account = SparkAccount.objects.filter(pk=account_id).first()
    if account is None:
        return {"ran": False}
    result = sync.newsfeeds_sync(account=account)
    return {"ran": result.ran, "feeds": result.feeds, "schedules": result.schedules, "error": result.error}


@shared_task
def sync_all_newsfeeds() -> int:
    """Run by beat every SYNC_INTERVAL_S: one sync per linked agent."""
    ids = list(SparkAccount.objects.filter(link_status=SparkAccount.LinkStatus.LINKED).values_list("pk", flat=True))
    for account_id in ids:
        sync_agent_newsfeeds.delay(account_id)
    return len(ids)


@shared_task(acks_late=True)
def run_schedule_bulk_job(job_id: int) -> int:
    job = ScheduleBulkJob.objects.select_related("account", "created_by").filter(pk=job_id).first()
    return bulk.schedule_bulk_prepare(job=job) if job else 0
