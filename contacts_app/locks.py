"""Locks on contacts: level 2 of the lock order in crm/outbox/locks.py (after the agent's account, before writes)."""

from __future__ import annotations

from crm.agents.models import SparkAccount
from crm.outbox.models import SparkWrite

from .models import Contact


def contact_lock(*, account: SparkAccount, pk: int) -> Contact:
    """Level 2, one contact (the agent's own: another agent's contact is not found)."""
    return Contact.objects.select_for_update(no_key=True, of=("self",)).get(pk=pk, owner=account)


def write_contact_lock(write: SparkWrite) -> None:
    """Level 2 before a change to the write itself (level 3): retry, discard and undo change both."""
    if write.contact_id:
        list(Contact.objects.select_for_update(no_key=True).filter(pk=write.contact_id).values_list("pk", flat=True))


def contacts_lock(*, account: SparkAccount, ids: list[int]) -> list[Contact]:
    """Level 2, many contacts: all locked by one statement, in ascending pk."""
    return list(Contact.objects.select_for_update(no_key=True, of=("self",)).filter(owner=account, pk__in=ids)
                .order_by("pk"))
