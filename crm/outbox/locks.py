"""Locks, and the order every transaction takes them in.

The outbox delivers a write by claiming it, sending it, settling it — exactly once, in order per contact.

A write is claimed by a conditional UPDATE (queued → in flight), so a redelivered Celery message or a second
worker does nothing. A retryable failure puts it back in the queue with backoff; a permanent one marks it
failed with Spark's message for the agent to retry or discard. A claim that outlives its worker (SIGKILL)
expires and the sweep puts the write back; every handler is safe to run again after an unknown outcome.
No write is retried forever: after settings.OUTBOX_MAX_ATTEMPTS failed attempts (Spark's errors or our own, such
as an IntegrityError) it is marked failed with the reason, for the agent to retry or discard.

Lock order — every transaction that locks rows takes them in this order, and only the levels it needs:

    1. the agent's SparkAccount row                       account_lock()
       (then that agent's rows in other apps' tables, e.g. a news feed's schedule)
    2. that agent's Contact rows, in ascending pk          contact_lock() / contacts_lock()
    3. SparkWrite and BulkJob rows                         write_contact_lock() first; claims, retry, discard, undo

Never lock a row of an earlier level after one of a later level in the same transaction. Rows are locked
FOR NO KEY UPDATE (select_for_update(no_key=True)), never plain FOR UPDATE: every INSERT of a row with a foreign
key takes FOR KEY SHARE on the row it points to (a SparkWrite or AuditEvent on its account and its contact), and
FOR UPDATE conflicts with that. With FOR UPDATE on the account, each write_record() was a hidden account lock taken
after the contact locks — the deadlock between a bulk job's preparation (contacts, then the account through the
foreign key) and a news feed schedule change (the account, then the feed's contact). An UPDATE of a contact's
ordinary columns takes FOR NO KEY UPDATE itself, so it counts as a level-2 lock.
"""

from __future__ import annotations

from crm.agents.models import SparkAccount


def account_lock(account_id: int) -> None:
    """Level 1: one change at a time to what is kept per agent (e.g. "only one default schedule")."""
    list(SparkAccount.objects.select_for_update(no_key=True).filter(pk=account_id).values_list("pk", flat=True))
