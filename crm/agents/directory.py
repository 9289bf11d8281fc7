"""The office directory: the agents of an office as Spark lists them, whom a contact may be transferred to."""

from __future__ import annotations

import logging

from crm.spark import SparkError, iter_records
from crm.spark.records import AccountRecord

from .models import AgentDirectoryEntry, SparkAccount
from .spark import client_for_account

log = logging.getLogger(__name__)


def agent_directory_refresh(*, account: SparkAccount) -> int:
    """The agents the account may transfer contacts to: its office, or the whole MLS for an MLS admin
    (`/accounts`, which lists every office, including ones no linked agent of ours belongs to)."""
    client = client_for_account(account)
    if account.mls_admin:
        try:
            return _directory_store(iter_records(client, "/accounts"), office_id="")
        except SparkError as exc:
            if exc.retryable:
                raise
            log.warning("directory: /accounts refused for an MLS admin (%s); reading office by office", exc)
    offices = {account.office_id} if account.office_id else set()
    if account.mls_admin:
        offices |= set(SparkAccount.objects.exclude(office_id="").values_list("office_id", flat=True))
        offices |= set(AgentDirectoryEntry.objects.values_list("office_id", flat=True))
    return sum(_directory_store(iter_records(client, f"/accounts/by/office/{office_id}"), office_id=office_id)
               for office_id in sorted(offices))


def _directory_store(items, *, office_id: str) -> int:
    count = 0
    for item in items:
        record = AccountRecord.from_api(item)
        if not record.id:
            continue
        AgentDirectoryEntry.objects.update_or_create(
            spark_user_id=record.id,
            defaults={"name": record.name, "email": record.email, "office_id": record.office_id or office_id,
                      "office_name": record.office_name},
        )
        count += 1
    return count
