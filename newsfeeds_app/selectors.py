"""Reads: every page reads the store through these, scoped to the agent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from contacts_app.models import Contact
from crm.agents.models import SparkAccount, SyncState
from crm.outbox.models import BulkJob

from .models import NewsFeed, Schedule
from .schedules import INSTANT_DETAIL, Delivery, ScheduleChoice, describe, next_deliveries
from .sync import RESOURCE


def agent_tz() -> dt.tzinfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass
class ScheduleView:
    """A schedule as the page shows it: its sentence, next deliveries and the state of its last change."""

    row: Schedule | None
    sentence: str
    deliveries: list[Delivery]
    detail: str
    status: str  # "pending", "failed" or ""
    message: str

    @property
    def tz_name(self) -> str:
        return settings.TIME_ZONE

    @property
    def removing(self) -> bool:
        return self.row is not None and self.row.pending_delete


def schedule_view(row: Schedule | None, *, now: dt.datetime | None = None) -> ScheduleView:
    if row is None:
        return ScheduleView(row=None, sentence="", deliveries=[], detail="", status="", message="")
    choice = row.choice
    return ScheduleView(
        row=row, sentence=describe(choice), detail=INSTANT_DETAIL if choice.is_instant else "",
        deliveries=next_deliveries(choice, after=now or timezone.now(), tz=agent_tz()),
        status=row.write_status, message=row.last_write.spark_message if row.last_write else "",
    )


def choice_preview(choice: ScheduleChoice) -> ScheduleView:
    return ScheduleView(row=None, sentence=describe(choice), detail=INSTANT_DETAIL if choice.is_instant else "",
                        deliveries=next_deliveries(choice, after=timezone.now(), tz=agent_tz()),
                        status="", message="")


def default_schedule_get(*, account: SparkAccount) -> Schedule | None:
    return Schedule.objects.select_related("last_write").filter(account=account, feed__isnull=True).first()


@dataclass
class FeedView:
    feed: NewsFeed
    own: ScheduleView | None  # None: the feed uses the default schedule
    default: ScheduleView

    @property
    def uses_default(self) -> bool:
        return self.own is None


def _feed_views(account: SparkAccount, feeds: QuerySet[NewsFeed]) -> list[FeedView]:
    default = schedule_view(default_schedule_get(account=account))
    own = {s.feed_id: s for s in Schedule.objects.select_related("last_write").filter(
        account=account, feed__in=[f.pk for f in feeds])}
    return [FeedView(feed=f, own=schedule_view(own[f.pk]) if f.pk in own else None, default=default) for f in feeds]


def newsfeed_list(*, account: SparkAccount) -> list[FeedView]:
    feeds = NewsFeed.objects.filter(account=account).select_related("contact").order_by(
        "contact__display_name", "name", "id")
    return _feed_views(account, feeds)


def contact_newsfeeds(*, contact: Contact) -> list[FeedView]:
    """The contact's feeds with their own schedules in one query (the default schedule in a second, if any feed)."""
    account = contact.owner
    feeds = list(NewsFeed.objects.filter(contact=contact).select_related("schedule__last_write").order_by("name", "id"))
    if not feeds:
        return []
    default = schedule_view(default_schedule_get(account=account))
    views = []
    for f in feeds:
        try:
            own = f.schedule if f.schedule.account_id == account.pk else None
        except Schedule.DoesNotExist:
            own = None
        views.append(FeedView(feed=f, own=schedule_view(own) if own is not None else None, default=default))
    return views


def feed_view(*, account: SparkAccount, feed: NewsFeed) -> FeedView:
    return _feed_views(account, NewsFeed.objects.filter(pk=feed.pk).select_related("contact"))[0]


def newsfeed_get_for_agent(*, account: SparkAccount, pk: int) -> NewsFeed:
    """Another agent's feed is a 404."""
    try:
        return NewsFeed.objects.select_related("contact").get(pk=pk, account=account)
    except (NewsFeed.DoesNotExist, ValueError, TypeError):
        raise Http404("No such news feed") from None


def bulk_job_get_for_agent(*, account: SparkAccount, pk: int) -> BulkJob:
    """A schedule bulk job of the agent's; another agent's (or another kind) is a 404."""
    try:
        return BulkJob.objects.get(pk=pk, account=account, kind=BulkJob.Kind.SCHEDULE)
    except (BulkJob.DoesNotExist, ValueError, TypeError):
        raise Http404("No such job") from None


def contacts_with_feeds(*, account: SparkAccount) -> list[tuple[Contact, int]]:
    from django.db.models import Count

    rows = (Contact.objects.filter(owner=account, newsfeeds__isnull=False).annotate(feed_count=Count("newsfeeds"))
            .order_by("display_name"))
    return [(c, c.feed_count) for c in rows]


def sync_state(*, account: SparkAccount) -> SyncState | None:
    return SyncState.objects.filter(account=account, resource=RESOURCE).first()
