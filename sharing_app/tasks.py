"""Celery tasks: thin interfaces that load by id and call a service."""

from __future__ import annotations

from celery import shared_task

from crm.agents.models import SparkAccount
from crm.spark.errors import SparkError

from . import sync


@shared_task(acks_late=True, autoretry_for=(SparkError,), retry_backoff=5, retry_backoff_max=300, max_retries=5)
def sync_agent_sharing(account_id: int, listings: bool = True) -> dict:
    account = SparkAccount.objects.filter(pk=account_id).first()
    if account is None:
        return {"ran": False}
    result = sync.sharing_sync(account=account, listings=listings)
    return {"ran": result.ran, "listings": result.listings, "searches": result.searches, "links": result.links,
            "errors": result.errors}


@shared_task
def sync_all_sharing() -> int:
    """Every linked agent's saved searches and shared links; the MLS's listings once per round (the first agent)."""
    ids = list(SparkAccount.objects.filter(link_status=SparkAccount.LinkStatus.LINKED)
               .order_by("pk").values_list("pk", flat=True))
    for n, account_id in enumerate(ids):
        sync_agent_sharing.delay(account_id, listings=n == 0)
    return len(ids)
