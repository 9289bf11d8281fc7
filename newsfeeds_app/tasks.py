"""Celery tasks: thin interfaces that load by id and call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from crm.agents.models import SparkAccount
from crm.outbox.models import BulkJob
from crm.outbox.tasks import run_bulk_job

from . import sync


@shared_task(acks_late=True)
def sync_agent_newsfeeds(account_id: int) -> dict:
    account = SparkAccount.objects.filter(pk=account_id).first()
    if account is None:
        return {"ran": False}
    result = sync.newsfeeds_sync(account=account)
    return {"ran": result.ran, "feeds": result.feeds, "schedules": result.schedules, "error": result.error}


@shared_task(acks_late=True)
def refresh_newsfeeds_after_merge(account_id: int, survivor_spark_id: str, other_spark_id: str) -> int:
    account = SparkAccount.objects.filter(pk=account_id).first()
    if account is None or account.link_status != SparkAccount.LinkStatus.LINKED:
        return 0
    return sync.contact_newsfeeds_refresh(account=account, contact_spark_id=survivor_spark_id,
                                          gone_spark_id=other_spark_id)


def refresh_after_merge(sender, *, account_id: int, survivor_spark_id: str, other_spark_id: str,
                        survivor_feeds_changed: bool = True, **kwargs) -> None:
    """contacts_app's `contact_merged`: the merged-away contact's feeds leave the store at once; the survivor's are
    read again only when feeds were carried over to it (most contacts have none: a bulk merge then costs flexmls no
    request more)."""
    sync.contact_newsfeeds_forget(account_id=account_id, spark_id=other_spark_id)
    if survivor_feeds_changed:
        transaction.on_commit(lambda: refresh_newsfeeds_after_merge.delay(account_id, survivor_spark_id,
                                                                          other_spark_id))


@shared_task
def sync_all_newsfeeds() -> int:
    """Run by beat every SYNC_INTERVAL_S: one sync per linked agent."""
    ids = list(SparkAccount.objects.filter(link_status=SparkAccount.LinkStatus.LINKED).values_list("pk", flat=True))
    for account_id in ids:
        sync_agent_newsfeeds.delay(account_id)
    return len(ids)


@shared_task(acks_late=True, name="newsfeeds_app.tasks.run_schedule_bulk_job")
def run_schedule_bulk_job(job_id: int) -> int:
    """The name schedule bulk jobs ran under before they became bulk jobs like any other (a message queued before
    the upgrade may still carry it): `job_id` is the old ScheduleBulkJob's, kept in the moved job's params."""
    job = BulkJob.objects.filter(kind=BulkJob.Kind.SCHEDULE, params__schedule_job_id=job_id).first()
    return run_bulk_job.run(job.pk) if job else 0
