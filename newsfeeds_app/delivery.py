"""Outbox handlers for schedule writes. Each makes Spark hold the wanted state, so running one again after an
unknown outcome is safe: "set" looks first and updates the schedule it finds, else creates one; "remove" deletes
whatever is there. After the write the handler reads Spark back into the store."""

from __future__ import annotations

from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.outbox.models import SparkWrite
from crm.spark import SparkClient
from crm.spark.errors import SparkError
from crm.spark.records import ScheduleRecord
from crm.spark.resources import newsfeeds as nf

from .models import NewsFeed, Schedule

KINDS = (SparkWrite.Kind.DEFAULT_SCHEDULE_SET, SparkWrite.Kind.DEFAULT_SCHEDULE_DELETE,
         SparkWrite.Kind.FEED_SCHEDULE_SET, SparkWrite.Kind.FEED_SCHEDULE_DELETE)


class WaitingForEarlierChange(SparkError):
    """An earlier change to the same schedule is still on its way; this one goes after it."""

    retryable = True
    waiting_turn = True  # the outbox re-queues it without counting an attempt or showing an error


def _wait_for_earlier(write: SparkWrite) -> None:
    earlier = SparkWrite.objects.filter(
        account_id=write.account_id, kind__in=KINDS, payload__target=write.payload.get("target"),
        id__lt=write.id, status__in=SparkWrite.OPEN,
    )
    if earlier.exists():
        raise WaitingForEarlierChange("Waiting for an earlier change to this schedule to reach flexmls.",
                                      retry_after=1)


def store_schedule(row: Schedule, record: ScheduleRecord) -> None:
    row.spark_id = record.id
    row.frequency = record.frequency if record.frequency in ("Instant", "Scheduled") else (
        "Scheduled" if (record.hours_of_day or record.days_of_week or record.days_of_month) else "Instant")
    row.hours_of_day = record.hours_of_day or None
    row.days_of_week = record.days_of_week or None
    row.days_of_month = record.days_of_month or None
    row.webhook_id = record.webhook_id or ""
    row.pending_delete = False
    row.fetched_at = timezone.now()
    row.save()


def _settle(account: SparkAccount, feed: NewsFeed | None, records: list[ScheduleRecord], write: SparkWrite) -> None:
    """Take Spark's answer into the row, unless a newer change to it has been made since this write."""
    rows = Schedule.objects.filter(account=account)
    rows = rows.filter(feed=feed) if feed is not None else rows.filter(feed__isnull=True)
    row = rows.first()
    if row is not None and row.last_write_id not in (None, write.pk):
        return
    if not records:
        if row is not None:
            row.delete()
        return
    row = row or Schedule(account=account, feed=feed)
    store_schedule(row, records[0])


def _feed_for(write: SparkWrite) -> NewsFeed | None:
    return NewsFeed.objects.filter(account_id=write.account_id, spark_id=write.payload["feed_spark_id"]).first()


def _contact_id(write: SparkWrite) -> str | None:
    # A contact's feed is addressed in the contact form of the path; the agent's own feeds in the plain one.
    return write.payload.get("contact_spark_id") or None


def deliver_default_set(client: SparkClient, write: SparkWrite) -> None:
    _wait_for_earlier(write)
    body = write.payload["body"]
    current = nf.default_schedule_list(client)
    if current:
        nf.default_schedule_update(client, current[0].id, body)
    else:
        nf.default_schedule_create(client, body)
    _settle(write.account, None, nf.default_schedule_list(client), write)


def deliver_default_delete(client: SparkClient, write: SparkWrite) -> None:
    _wait_for_earlier(write)
    for record in nf.default_schedule_list(client):
        nf.default_schedule_delete(client, record.id)
    _settle(write.account, None, nf.default_schedule_list(client), write)


def deliver_feed_set(client: SparkClient, write: SparkWrite) -> None:
    _wait_for_earlier(write)
    feed_id, contact_id, body = write.payload["feed_spark_id"], _contact_id(write), write.payload["body"]
    current = nf.feed_schedule_list(client, feed_id, contact_id=contact_id)
    if current:
        nf.feed_schedule_update(client, feed_id, current[0].id, body, contact_id=contact_id)
    else:
        nf.feed_schedule_create(client, feed_id, body, contact_id=contact_id)
    feed = _feed_for(write)
    if feed is not None:
        _settle(write.account, feed, nf.feed_schedule_list(client, feed_id, contact_id=contact_id), write)


def deliver_feed_delete(client: SparkClient, write: SparkWrite) -> None:
    _wait_for_earlier(write)
    feed_id, contact_id = write.payload["feed_spark_id"], _contact_id(write)
    for record in nf.feed_schedule_list(client, feed_id, contact_id=contact_id):
        nf.feed_schedule_delete(client, feed_id, record.id, contact_id=contact_id)
    feed = _feed_for(write)
    if feed is not None:
        _settle(write.account, feed, nf.feed_schedule_list(client, feed_id, contact_id=contact_id), write)


HANDLERS = {
    SparkWrite.Kind.DEFAULT_SCHEDULE_SET: deliver_default_set,
    SparkWrite.Kind.DEFAULT_SCHEDULE_DELETE: deliver_default_delete,
    SparkWrite.Kind.FEED_SCHEDULE_SET: deliver_feed_set,
    SparkWrite.Kind.FEED_SCHEDULE_DELETE: deliver_feed_delete,
}
