"""One schedule for the feeds of several contacts: a bulk job of kind "schedule", one outbox write per feed.

The runner (claims, the sweep, progress, the job page's results) is the outbox's, as for every bulk job
(crm/outbox/bulk.py); this module starts the job and is its preparer, registered in NewsfeedsAppConfig.ready().
The writes carry the per-feed results (their payload names the feed); a feed that gets no write is listed in
`params["skipped"]` with the reason.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from contacts_app.models import Contact
from crm.agents.models import SparkAccount
from crm.outbox.models import BulkJob
from crm.outbox.queue import WriteRefused
from crm.outbox.worker import claim_ttl

from . import services
from .models import NewsFeed
from .schedules import ScheduleChoice, describe, problems

MAX_CONTACTS = 5_000


@transaction.atomic
def schedule_bulk_start(*, account: SparkAccount, user, contact_ids: list[int], choice: ScheduleChoice | None
                        ) -> BulkJob:
    """`choice` None removes the feeds' own schedules (back to the default). Refusals come before any job."""
    ids = list(Contact.objects.filter(owner=account, pk__in=contact_ids[:MAX_CONTACTS], newsfeeds__isnull=False)
               .values_list("pk", flat=True).distinct())
    if not ids:
        raise WriteRefused("Choose at least one contact with a news feed.")
    if choice is not None:
        found = problems(choice)
        if found:
            raise WriteRefused(" ".join(found))
    job = BulkJob.objects.create(
        account=account, created_by=user if user is not None and user.is_authenticated else None,
        kind=BulkJob.Kind.SCHEDULE, contact_ids=ids,
        params={"remove": choice is None, "choice": choice.as_dict() if choice else {},
                "sentence": describe(choice) if choice else ""},
        total=NewsFeed.objects.filter(account=account, contact_id__in=ids).count(),
    )
    from crm.outbox.tasks import run_bulk_job

    transaction.on_commit(lambda: run_bulk_job.delay(job.pk))
    return job


def schedule_bulk_prepare(job: BulkJob) -> int:
    """One write per feed (each in its own transaction); a feed refused gets its reason. Safe to run again: feeds
    that already have their write or their reason are skipped. Called by the outbox's runner, which claimed the job."""
    skipped = job.params.get("skipped", [])
    done = {s.get("feed_spark_id") for s in skipped} | set(
        job.writes.values_list("payload__feed_spark_id", flat=True))
    c = job.params.get("choice") or {}
    choice = None if job.params.get("remove") else ScheduleChoice.build(
        c["Frequency"], c.get("HoursOfDay"), c.get("DaysOfWeek"), c.get("DaysOfMonth"))
    made = 0
    feeds = (NewsFeed.objects.filter(account=job.account, contact_id__in=job.contact_ids)
             .select_related("contact").order_by("contact__display_name", "name"))
    for feed in feeds:
        if feed.spark_id in done:
            continue
        reason = ""
        try:
            with transaction.atomic():
                if choice is None:
                    write = services.feed_schedule_remove(account=job.account, user=job.created_by, feed=feed,
                                                          bulk_job=job)
                    reason = "" if write else "Already uses the default schedule."
                else:
                    services.feed_schedule_set(account=job.account, user=job.created_by, feed=feed, choice=choice,
                                               bulk_job=job)
        except WriteRefused as exc:
            reason = str(exc)
        if reason:
            _skip(job, feed, reason)
        made += 1
        # The heartbeat: a live preparation keeps its claim however many feeds it has.
        BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
            claimed_until=timezone.now() + claim_ttl(), updated_at=timezone.now())
    # Feeds gone since the job started have nothing to change: the job counts the feeds it went through.
    total = job.writes.count() + len(job.params.get("skipped", []))
    if total:
        BulkJob.objects.filter(pk=job.pk).update(total=total, updated_at=timezone.now())
    return made


@transaction.atomic
def _skip(job: BulkJob, feed: NewsFeed, reason: str) -> None:
    # Every feed ends with a result, so the job finishes: the skipped ones are counted and listed.
    locked = BulkJob.objects.select_for_update().get(pk=job.pk)
    entry = {"feed_id": feed.pk, "feed_spark_id": feed.spark_id, "feed_name": feed.name[:200],
             "name": feed.contact.display_name if feed.contact else "", "reason": reason}
    locked.params = {**locked.params, "skipped": [*locked.params.get("skipped", []), entry]}
    locked.save(update_fields=["params", "updated_at"])
    job.params = locked.params
