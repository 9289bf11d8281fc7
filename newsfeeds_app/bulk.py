"""One schedule for the feeds of several contacts: a job, one outbox write per feed, progress from the writes."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from contacts_app.models import Contact
from crm.agents.models import SparkAccount
from crm.outbox.models import SparkWrite
from crm.outbox.queue import WriteRefused

from . import services
from .models import NewsFeed, ScheduleBulkItem, ScheduleBulkJob
from .schedules import ScheduleChoice, describe, problems

MAX_CONTACTS = 5_000


@transaction.atomic
def schedule_bulk_start(*, account: SparkAccount, user, contact_ids: list[int], choice: ScheduleChoice | None
                        ) -> ScheduleBulkJob:
    """`choice` None removes the feeds' own schedules (back to the default). Refusals come before any job."""
    ids = list(Contact.objects.filter(owner=account, pk__in=contact_ids[:MAX_CONTACTS], newsfeeds__isnull=False)
               .values_list("pk", flat=True).distinct())
    if not ids:
        raise WriteRefused("Choose at least one contact with a news feed.")
    if choice is not None:
        found = problems(choice)
        if found:
            raise WriteRefused(" ".join(found))
    job = ScheduleBulkJob.objects.create(
        account=account, created_by=user if user is not None and user.is_authenticated else None,
        contact_ids=ids, remove=choice is None, choice=choice.as_dict() if choice else {},
        sentence=describe(choice) if choice else "",
        total=NewsFeed.objects.filter(account=account, contact_id__in=ids).count(),
    )
    from .tasks import run_schedule_bulk_job

    transaction.on_commit(lambda: run_schedule_bulk_job.delay(job.pk))
    return job


def schedule_bulk_prepare(*, job: ScheduleBulkJob) -> int:
    """One write per feed (each in its own transaction); a feed refused gets its reason. Safe to run again."""
    if job.status != ScheduleBulkJob.Status.PREPARING:
        return 0
    done = set(job.items.values_list("feed_id", flat=True))
    c = job.choice
    choice = None if job.remove else ScheduleChoice.build(c["Frequency"], c.get("HoursOfDay"), c.get("DaysOfWeek"),
                                                          c.get("DaysOfMonth"))
    made = 0
    feeds = (NewsFeed.objects.filter(account=job.account, contact_id__in=job.contact_ids)
             .select_related("contact").order_by("contact__display_name", "name"))
    for feed in feeds:
        if feed.pk in done:
            continue
        item = ScheduleBulkItem(job=job, feed=feed, feed_name=feed.name[:200],
                                contact_name=feed.contact.display_name if feed.contact else "")
        try:
            with transaction.atomic():
                if choice is None:
                    write = services.feed_schedule_remove(account=job.account, user=job.created_by, feed=feed,
                                                          bulk_job=job)
                    item.skipped = "" if write else "Already uses the default schedule."
                else:
                    write = services.feed_schedule_set(account=job.account, user=job.created_by, feed=feed,
                                                       choice=choice, bulk_job=job)
                item.write = write
                item.save()
        except WriteRefused as exc:
            item.skipped = str(exc)
            item.save()
        made += 1
    ScheduleBulkJob.objects.filter(pk=job.pk).update(status=ScheduleBulkJob.Status.RUNNING, total=job.items.count(),
                                                     updated_at=timezone.now())
    return made


@dataclass
class ScheduleBulkProgress:
    total: int
    confirmed: int
    failed: int
    skipped: int
    open: int
    preparing: bool

    @property
    def finished(self) -> int:
        return self.confirmed + self.failed + self.skipped

    @property
    def percent(self) -> int:
        return int(100 * self.finished / self.total) if self.total else 100

    @property
    def done(self) -> bool:
        return not self.preparing and self.finished >= self.total


def schedule_bulk_progress(*, job: ScheduleBulkJob) -> ScheduleBulkProgress:
    counts = job.items.aggregate(
        confirmed=Count("pk", filter=Q(write__status=SparkWrite.Status.CONFIRMED)),
        failed=Count("pk", filter=Q(write__status__in=[SparkWrite.Status.FAILED, SparkWrite.Status.DISCARDED])),
        skipped=Count("pk", filter=Q(write__isnull=True)),
        open=Count("pk", filter=Q(write__status__in=SparkWrite.OPEN)),
    )
    preparing = job.status == ScheduleBulkJob.Status.PREPARING
    progress = ScheduleBulkProgress(total=job.total, preparing=preparing, **counts)
    if progress.done and job.status != ScheduleBulkJob.Status.DONE:
        ScheduleBulkJob.objects.filter(pk=job.pk).update(status=ScheduleBulkJob.Status.DONE,
                                                         finished_at=timezone.now())
    return progress
