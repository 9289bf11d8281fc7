"""Celery tasks: thin interfaces that load by id and call a service."""

from __future__ import annotations

from celery import shared_task

from crm.spark.errors import SparkError

from .models import SparkAccount
from .sync import contacts_sync


@shared_task(acks_late=True, autoretry_for=(SparkError,), retry_backoff=5, retry_backoff_max=300, max_retries=8)
def sync_agent_contacts(account_id: int, full: bool | None = None) -> dict:
    account = SparkAccount.objects.filter(pk=account_id).first()
    if account is None:
        return {"ran": False}
    result = contacts_sync(account=account, full=full)
    return {"ran": result.ran, "fetched": result.fetched, "removed": result.removed, "error": result.error}


@shared_task
def sync_all_agents() -> int:
    ids = list(SparkAccount.objects.filter(link_status=SparkAccount.LinkStatus.LINKED).values_list("pk", flat=True))
    for account_id in ids:
        sync_agent_contacts.delay(account_id)
    return len(ids)
