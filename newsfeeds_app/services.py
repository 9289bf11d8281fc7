"""Changes to schedules: the store row, an outbox write and an audit event in one transaction.

The row shows the change at once (pending); the outbox takes it to Spark and, once confirmed, the row holds
what Spark answered. Every refusal happens here, before anything is queued, so nothing reaches Spark."""

from __future__ import annotations

from django.db import transaction

from crm.agents.models import SparkAccount
from crm.outbox.locks import account_lock
from crm.outbox.models import BulkJob, SparkWrite
from crm.outbox.queue import WriteRefused, write_queue, write_record

from .models import NewsFeed, Schedule
from .schedules import ScheduleChoice, describe, problems

DEFAULT_TARGET = "default"


def feed_target(feed: NewsFeed) -> str:
    return f"feed:{feed.spark_id}"


def _lock_account(account: SparkAccount) -> None:
    # One schedule change per agent at a time: the "only one default" rule holds without a race. The account is
    # the first lock of the outbox's lock order (crm/outbox/locks.py): the feed's contact comes after it.
    account_lock(account.pk)


def _check(choice: ScheduleChoice, webhook_id: str = "") -> None:
    found = problems(choice, webhook_id=webhook_id or None)
    if found:
        raise WriteRefused(" ".join(found))


def _state(row: Schedule | None) -> dict:
    if row is None or row.pending_delete:
        return {}
    return row.choice.as_dict()


def _store_and_queue(row: Schedule, choice: ScheduleChoice, *, before: dict, payload: dict, **write) -> SparkWrite:
    """Show the new choice at once (pending), and add its outbox write and audit event."""
    row.apply(choice)
    row.pending_delete = False
    row.save()
    written = write_record(
        payload={**payload, "body": choice.as_spark_body(), "sentence": describe(choice)},
        before=before, after=choice.as_dict(), **write,
    )
    row.last_write = written
    row.save(update_fields=["last_write", "updated_at"])
    write_queue(written)
    return written


@transaction.atomic
def default_schedule_set(*, account: SparkAccount, user, choice: ScheduleChoice, source: str = "page") -> SparkWrite:
    """Create the agent's default schedule, or change it in place (there is only ever one)."""
    _lock_account(account)
    row = Schedule.objects.filter(account=account, feed__isnull=True).first()
    _check(choice, row.webhook_id if row else "")
    return _store_and_queue(
        row or Schedule(account=account, feed=None), choice, before=_state(row),
        account=account, user=user, contact=None, kind=SparkWrite.Kind.DEFAULT_SCHEDULE_SET, source=source,
        payload={"target": DEFAULT_TARGET},
    )


@transaction.atomic
def default_schedule_remove(*, account: SparkAccount, user, source: str = "page") -> SparkWrite:
    _lock_account(account)
    row = Schedule.objects.filter(account=account, feed__isnull=True, pending_delete=False).first()
    if row is None:
        raise WriteRefused("There is no default schedule to remove.")
    before = _state(row)
    write = write_record(
        account=account, user=user, contact=None, kind=SparkWrite.Kind.DEFAULT_SCHEDULE_DELETE, source=source,
        payload={"target": DEFAULT_TARGET, "spark_id": row.spark_id, "sentence": describe(row.choice)},
        before=before, after={},
    )
    row.pending_delete = True
    row.last_write = write
    row.save(update_fields=["pending_delete", "last_write", "updated_at"])
    write_queue(write)
    return write


def _feed_payload(feed: NewsFeed) -> dict:
    return {"target": feed_target(feed), "feed_spark_id": feed.spark_id, "contact_spark_id": feed.contact_spark_id,
            "feed_name": feed.name}


def _refuse_silent_feed(feed: NewsFeed) -> None:
    if not feed.active:
        raise WriteRefused(f"“{feed.name}” is not active in flexmls, so no schedule would ever deliver it. "
                           "Reactivate the news feed first.")
    if not feed.notifications_active:
        raise WriteRefused(f"“{feed.name}” has its notifications turned off in flexmls, so no schedule would ever "
                           "deliver it. Turn its notifications on first.")


@transaction.atomic
def feed_schedule_set(*, account: SparkAccount, user, feed: NewsFeed, choice: ScheduleChoice, source: str = "page",
                      bulk_job: BulkJob | None = None) -> SparkWrite:
    """Give one feed its own schedule (create it, or change the one it has)."""
    _lock_account(account)
    feed = NewsFeed.objects.select_related("contact").get(pk=feed.pk, account=account)
    _refuse_silent_feed(feed)
    row = Schedule.objects.filter(feed=feed).first()
    _check(choice, row.webhook_id if row else "")
    return _store_and_queue(
        row or Schedule(account=account, feed=feed), choice, before=_state(row),
        account=account, user=user, contact=feed.contact, kind=SparkWrite.Kind.FEED_SCHEDULE_SET,
        source=SparkWrite.Source.BULK if bulk_job else source, payload=_feed_payload(feed), bulk_job=bulk_job,
    )


@transaction.atomic
def feed_schedule_remove(*, account: SparkAccount, user, feed: NewsFeed, source: str = "page",
                         bulk_job: BulkJob | None = None) -> SparkWrite | None:
    """Remove the feed's own schedule: the default schedule applies to it again. None if it had none."""
    _lock_account(account)
    feed = NewsFeed.objects.select_related("contact").get(pk=feed.pk, account=account)
    row = Schedule.objects.filter(feed=feed, pending_delete=False).first()
    if row is None:
        if bulk_job is not None:
            return None
        raise WriteRefused(f"“{feed.name}” has no schedule of its own; it already uses the default.")
    before = _state(row)
    write = write_record(
        account=account, user=user, contact=feed.contact, kind=SparkWrite.Kind.FEED_SCHEDULE_DELETE,
        source=SparkWrite.Source.BULK if bulk_job else source,
        payload={**_feed_payload(feed), "spark_id": row.spark_id, "sentence": describe(row.choice)},
        before=before, after={}, bulk_job=bulk_job,
    )
    row.pending_delete = True
    row.last_write = write
    row.save(update_fields=["pending_delete", "last_write", "updated_at"])
    write_queue(write)
    return write
