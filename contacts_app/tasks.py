"""Celery tasks: thin interfaces that load by id and call a service."""

from __future__ import annotations

from celery import shared_task

from crm.agents.directory import agent_directory_refresh
from crm.agents.models import SparkAccount
from crm.agents.sync import sync_states_reap_stale
from crm.spark.errors import SparkError

from . import duplicate_finder, sync
from .activity_tasks import refresh_activity_tick  # noqa: F401 - the activity refresher's task, for autodiscovery
from .duplicate_models import DuplicateCheck
from .models import Contact
from .offboarding import finish_offboarding, run_offboarding  # noqa: F401 - tasks the worker must know

RETRYABLE = {"autoretry_for": (SparkError,), "retry_backoff": 5, "retry_backoff_max": 300, "max_retries": 8}


@shared_task(acks_late=True, **RETRYABLE)
def sync_agent_contacts(account_id: int, full: bool | None = None) -> dict:
    account = SparkAccount.objects.filter(pk=account_id).first()
    if account is None:
        return {"ran": False}
    result = sync.contacts_sync(account=account, full=full)
    if result.ran and not result.error:
        directory_refresh_if_stale(account)
    if result.ran and (result.fetched or result.removed or not DuplicateCheck.objects.filter(
            account=account, checked_at__isnull=False).exists()):
        duplicate_finder.duplicates_check_queue(account)
    return {"ran": result.ran, "fetched": result.fetched, "removed": result.removed, "error": result.error}


@shared_task
def sync_all_agents() -> int:
    sync_states_reap_stale()  # syncs left "running" by a stopped worker: failed now, and run again below
    ids = list(SparkAccount.objects.filter(link_status=SparkAccount.LinkStatus.LINKED).values_list("pk", flat=True))
    for account_id in ids:
        sync_agent_contacts.delay(account_id)
    return len(ids)


@shared_task(acks_late=True, **RETRYABLE)
def refresh_contact(contact_id: int) -> None:
    contact = Contact.objects.select_related("owner").filter(pk=contact_id).first()
    if contact is not None:
        sync.contact_refresh(contact=contact)


@shared_task(acks_late=True, autoretry_for=(SparkError,), retry_backoff=5, max_retries=3)
def refresh_activity(contact_id: int) -> None:
    contact = Contact.objects.select_related("owner").filter(pk=contact_id).first()
    if contact is not None and contact.spark_id:
        sync.contact_activity_refresh(contact=contact)


@shared_task(acks_late=True, **RETRYABLE)
def refresh_agent_directory(account_id: int) -> int:
    account = SparkAccount.objects.filter(pk=account_id).first()
    return agent_directory_refresh(account=account) if account else 0


@shared_task
def refresh_agent_directories() -> int:
    """Beat: one directory refresh per office with a linked agent (an MLS admin's covers every office known)."""
    chosen: dict[str, int] = {}
    for account in SparkAccount.objects.filter(link_status=SparkAccount.LinkStatus.LINKED).order_by("pk"):
        chosen.setdefault("mls" if account.mls_admin else account.office_id, account.pk)
    for account_id in chosen.values():
        refresh_agent_directory.delay(account_id)
    return len(chosen)


def directory_refresh_if_stale(account: SparkAccount) -> bool:
    """Queue a refresh of the agents the account may transfer to when there are none yet or they are old."""
    from django.conf import settings
    from django.utils import timezone

    from .forms import directory_refreshed_at

    at = directory_refreshed_at(account)
    if at is not None and (timezone.now() - at).total_seconds() < settings.DIRECTORY_REFRESH_S:
        return False
    refresh_agent_directory.delay(account.pk)
    return True


@shared_task(acks_late=True)
def read_csv_import(import_id: int) -> str:
    from .csv_import import csv_import_read

    return csv_import_read(import_id)


@shared_task(acks_late=True)
def classify_csv_import(import_id: int) -> str:
    from .csv_import import csv_import_classify_run

    return csv_import_classify_run(import_id)


@shared_task
def sweep_csv_imports() -> int:
    from .csv_import import csv_imports_sweep

    return csv_imports_sweep()


@shared_task(acks_late=True)
def find_duplicates(account_id: int) -> str:
    return duplicate_finder.duplicates_check(account_id)


@shared_task
def sweep_duplicates() -> int:
    return duplicate_finder.duplicates_sweep()


@shared_task(acks_late=True)
def refresh_shared_clients() -> int:
    """Beat (and the broker's "Check again"): the keys held by contacts of two or more agents."""
    from .shared_clients import shared_keys_refresh

    return shared_keys_refresh()
