"""Offboarding: a broker moves every contact of a departing agent to another agent in one Celery job.

The job is a BulkJob (kind transfer, source admin, account = the departing agent) whose outbox writes carry the
per-contact results. Its `params` carry the rest: the phase, the news feed schedules read before the transfer,
and what became of them.

1. **Reading and queueing** (`offboarding_prepare`), in chunks: with the departing agent's client, read each
   contact's news feeds and, for a contact that has any, its default schedule and each feed's own schedule;
   then queue the chunk's transfers (admin_services: with the MLS admin's link when one is linked, else the
   owner's within the office), so the book's requests are split over two keys. A contact without feeds costs one request; a schedule is read before its contact can move.
2. **Transferring**: the outbox delivers the transfers; `offboarding_finish` re-queues itself until all settled.
3. **Schedules**: for each moved contact that had schedules, with the new owner's client: look for each schedule
   first (Spark may have moved it with the contact; then it is kept, or put back as it was if it differs), else
   create it. What could not be done (no Spark link for the new owner, a feed that stayed behind, a refusal by
   Spark, a transfer that failed) is listed with the reason.

A contact's default schedule is read only when the contact has news feeds: it only governs feed notifications.
Every step may run again (Celery redelivery): writes already made are skipped, schedules are looked up before
they are created.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.agents.spark import client_for_account
from crm.outbox import bulk as bulk_runner
from crm.outbox.models import BulkJob, SparkWrite
from crm.outbox.queue import WriteRefused
from crm.spark import SparkError
from crm.spark.errors import SparkAuthError, SparkNotFound
from crm.spark.records import ScheduleRecord
from crm.spark.resources import newsfeeds

from . import admin_services
from .admin_services import TransferTarget
from .models import Contact

log = logging.getLogger(__name__)

CHUNK = 25
FINISH_POLL_S = 2.0


class Phase:
    READING = "reading"
    TRANSFERRING = "transferring"
    SCHEDULES = "schedules"
    DONE = "done"


PHASE_LABELS = {
    Phase.READING: "Reading news feed schedules and queueing transfers",
    Phase.TRANSFERRING: "Transferring contacts in Spark",
    Phase.SCHEDULES: "Recreating news feed schedules for the new owner",
    Phase.DONE: "Finished",
}


def is_offboarding(job: BulkJob) -> bool:
    return bool(job.params.get("offboarding"))


@transaction.atomic
def offboarding_start(*, user, departing: SparkAccount, target: TransferTarget, disable_login: bool = False,
                      contact_ids: list[int] | None = None) -> BulkJob:
    """Move the departing agent's whole book, or only `contact_ids` of it (a broker's shared client, one contact,
    the same way: schedules read first and recreated for the new owner)."""
    if target.spark_user_id == departing.spark_user_id:
        raise WriteRefused("Choose another agent than the departing one.")
    admin_services.transfer_acting_account(owner=departing, target=target, prefer_mls_admin=True)  # refuses early
    book = Contact.objects.filter(owner=departing, pending_delete=False)
    if contact_ids is not None:
        book = book.filter(pk__in=contact_ids)
    ids = list(book.order_by("pk").values_list("pk", flat=True))
    if not ids:
        raise WriteRefused(f"{departing.name} has no contacts in the store to move.")
    job = BulkJob.objects.create(
        account=departing, created_by=user, kind=BulkJob.Kind.TRANSFER, contact_ids=ids, total=len(ids),
        source=SparkWrite.Source.ADMIN,
        params={"offboarding": True, "owner_id": target.spark_user_id, "owner_name": target.name,
                "owner_office_id": target.office_id, "owner_office_name": target.office_name,
                "phase": Phase.READING, "read": 0, "skipped": [], "schedules": {}, "schedule_results": [],
                "note": "", "disable_login": disable_login, "login_disabled": False},
    )
    transaction.on_commit(lambda: run_offboarding.delay(job.pk))
    return job


# -- 1. reading and queueing ---------------------------------------------------------------------------------------


def schedule_attrs(s: ScheduleRecord) -> dict:
    attrs = {"Frequency": s.frequency or None, "HoursOfDay": s.hours_of_day, "DaysOfWeek": s.days_of_week,
             "DaysOfMonth": s.days_of_month, "WebhookId": s.webhook_id}
    return {k: v for k, v in attrs.items() if v is not None}


def _feeds(client, spark_id: str) -> list:
    feeds, page = [], 1
    while True:
        batch = newsfeeds.newsfeed_list(client, contact_id=spark_id, page=page)
        feeds.extend(batch.items)
        if not batch.has_next or not batch.items:
            return feeds
        page += 1


def schedules_read(client, contact: Contact) -> dict | None:
    """The contact's schedules as the departing agent sees them; None when it has no news feeds."""
    feeds = _feeds(client, contact.spark_id)
    if not feeds:
        return None
    defaults = newsfeeds.default_schedule_list(client, contact_id=contact.spark_id)
    entry = {"name": contact.display_name, "default": [schedule_attrs(s) for s in defaults], "feeds": []}
    for feed in feeds:
        own = newsfeeds.feed_schedule_list(client, feed.id, contact_id=contact.spark_id)
        entry["feeds"].append({"id": feed.id, "name": feed.name, "schedules": [schedule_attrs(s) for s in own]})
    if not entry["default"] and not any(f["schedules"] for f in entry["feeds"]):
        return None
    return entry


def offboarding_prepare(*, job: BulkJob) -> int:
    """Read each chunk's schedules, then queue its transfers. Returns the number of writes made this run."""
    params = job.params
    if params.get("phase") != Phase.READING:
        return 0
    departing = job.account
    target = TransferTarget(params["owner_id"], params["owner_name"], params.get("owner_office_id", ""),
                            params.get("owner_office_name", ""))
    done = set(job.writes.values_list("contact_id", flat=True))
    todo = [pk for pk in job.contact_ids if pk not in done]
    client = client_for_account(departing) if departing.link_status == SparkAccount.LinkStatus.LINKED else None
    if client is None:
        params["note"] = (f"{departing.name}'s Spark link needs reconnecting: news feed schedules could not be read, "
                          "so none could be recreated.")
    created = 0
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        contacts = {c.pk: c for c in Contact.objects.filter(pk__in=chunk, owner=departing)}
        snapshots: dict[int, dict] = {}
        for contact in contacts.values():
            if client is None or not contact.spark_id:
                continue
            try:
                entry = schedules_read(client, contact)
            except SparkNotFound:
                continue  # gone from Spark: its transfer fails too, and that result says so
            except SparkAuthError as exc:
                client = None
                params["note"] = f"Schedules could not be read from {departing.name}'s link: {exc.agent_message}"
                continue
            except SparkError as exc:
                entry = {"name": contact.display_name, "error": exc.agent_message, "default": [], "feeds": []}
            if entry is not None:
                snapshots[contact.pk] = entry
        with transaction.atomic():
            for pk in chunk:
                contact = contacts.get(pk)
                if contact is None:
                    params["skipped"].append({"name": f"Contact #{pk}", "message": "No longer in the store."})
                    continue
                try:
                    write = admin_services.contact_transfer_by_broker(user=job.created_by, contact=contact,
                                                                      target=target, bulk_job=job,
                                                                      prefer_mls_admin=True)
                except WriteRefused as exc:
                    params["skipped"].append({"name": contact.display_name, "message": str(exc)})
                    continue
                created += 1
                if pk in snapshots:
                    params["schedules"][str(write.pk)] = {"spark_id": contact.spark_id, **snapshots[pk]}
            params["read"] = min(len(job.contact_ids), len(done) + start + len(chunk))
            BulkJob.objects.filter(pk=job.pk).update(params=params, updated_at=timezone.now())
    params["phase"] = Phase.TRANSFERRING
    total = job.writes.count()
    BulkJob.objects.filter(pk=job.pk).update(params=params, total=total, status=BulkJob.Status.RUNNING,
                                             updated_at=timezone.now())
    finish_offboarding.apply_async((job.pk,), countdown=FINISH_POLL_S)
    return created


# -- 3. schedules for the new owner --------------------------------------------------------------------------------


def _same(existing: ScheduleRecord, wanted: dict) -> bool:
    return schedule_attrs(existing) == wanted


def schedule_put_back(client, spark_id: str, wanted: dict, *, feed_id: str | None) -> str:
    """Make the new owner's schedule what it was; returns kept / restored / recreated."""
    if feed_id is None:
        existing = newsfeeds.default_schedule_list(client, contact_id=spark_id)
    else:
        existing = newsfeeds.feed_schedule_list(client, feed_id, contact_id=spark_id)
    if existing:
        if _same(existing[0], wanted):
            return "kept"
        changes = {k: v for k, v in wanted.items() if k != "WebhookId" or existing[0].webhook_id}
        if feed_id is None:
            newsfeeds.default_schedule_update(client, existing[0].id, changes, contact_id=spark_id)
        else:
            newsfeeds.feed_schedule_update(client, feed_id, existing[0].id, changes, contact_id=spark_id)
        return "restored"
    if feed_id is None:
        newsfeeds.default_schedule_create(client, wanted, contact_id=spark_id)
    else:
        newsfeeds.feed_schedule_create(client, feed_id, wanted, contact_id=spark_id)
    return "recreated"


def schedule_describe(wanted: dict) -> str:
    freq = wanted.get("Frequency", "")
    parts = [freq] if freq else []
    if wanted.get("DaysOfWeek"):
        parts.append(", ".join(wanted["DaysOfWeek"]))
    if wanted.get("HoursOfDay"):
        parts.append("at " + ", ".join(f"{h}:00" for h in wanted["HoursOfDay"]))
    if wanted.get("DaysOfMonth"):
        parts.append("days " + ", ".join(str(d) for d in wanted["DaysOfMonth"]))
    return " ".join(parts) or "schedule"


OUTCOME_TEXT = {"kept": "Kept (Spark moved it with the contact)", "restored": "Put back as it was",
                "recreated": "Recreated"}


def _schedule_results(entry: dict, write_status: str, client, owner_name: str, departing_name: str) -> list[dict]:
    spark_id = entry["spark_id"]
    items = [(None, "Default schedule", s) for s in entry.get("default", [])]
    items += [(f["id"], f"“{f['name']}” feed schedule", s) for f in entry.get("feeds", []) for s in f["schedules"]]
    base = {"contact": entry["name"], "spark_id": spark_id}
    if entry.get("error"):
        return [{**base, "what": "News feed schedules", "ok": False,
                 "message": f"Could not be read before the transfer: {entry['error']}"}]
    results = []
    for feed_id, what, wanted in items:
        row = {**base, "what": f"{what} ({schedule_describe(wanted)})", "ok": False}
        if write_status != SparkWrite.Status.CONFIRMED:
            row["message"] = f"Not recreated: the contact was not transferred; it stays with {departing_name}."
        elif client is None:
            row["message"] = f"Not recreated: {owner_name} has no working Spark link in the CRM to act with."
        else:
            try:
                outcome = schedule_put_back(client, spark_id, wanted, feed_id=feed_id)
                row.update(ok=True, message=OUTCOME_TEXT[outcome])
            except SparkNotFound:
                row["message"] = ("Not recreated: the news feed did not move to the new owner in Spark"
                                  if feed_id else "Not recreated: Spark does not show the contact to the new owner")
            except SparkError as exc:
                row["message"] = f"Not recreated: {exc.agent_message}"
        results.append(row)
    return results


def offboarding_finish(*, job: BulkJob) -> bool:
    """Once every transfer has settled, put the schedules back for the new owner. False: not yet."""
    params = job.params
    if params.get("phase") == Phase.DONE:
        return True
    if params.get("phase") == Phase.READING or job.writes.filter(status__in=SparkWrite.OPEN).exists():
        return False
    params["phase"] = Phase.SCHEDULES
    BulkJob.objects.filter(pk=job.pk).update(params=params, updated_at=timezone.now())
    new_owner = SparkAccount.objects.filter(spark_user_id=params["owner_id"],
                                            link_status=SparkAccount.LinkStatus.LINKED).first()
    client = client_for_account(new_owner) if new_owner else None
    statuses = dict(job.writes.values_list("pk", "status"))
    results = []
    for write_id, entry in params.get("schedules", {}).items():
        results.extend(_schedule_results(entry, statuses.get(int(write_id), ""), client, params["owner_name"],
                                         job.account.name))
    params["schedule_results"] = results
    if params.get("disable_login"):
        from .people import agent_login_set

        agent_login_set(by=job.created_by, agent=job.account.user, active=False, why="offboarded")
        params["login_disabled"] = True
    params["phase"] = Phase.DONE
    BulkJob.objects.filter(pk=job.pk).update(params=params, status=BulkJob.Status.DONE, finished_at=timezone.now(),
                                             updated_at=timezone.now())
    if new_owner is not None:
        from .tasks import sync_agent_contacts

        sync_agent_contacts.delay(new_owner.pk)  # the moved contacts reach the new owner's list
    return True


# -- the report the admin page shows -------------------------------------------------------------------------------


@dataclass
class OffboardingReport:
    job: BulkJob
    progress: bulk_runner.BulkProgress
    phase: str
    phase_label: str
    read: int
    failed: list[SparkWrite]
    open: list[SparkWrite]
    confirmed: list[SparkWrite]
    skipped: list[dict]
    schedule_results: list[dict]
    note: str
    disable_login: bool = False
    login_disabled: bool = False

    @property
    def finished(self) -> bool:
        return self.phase == Phase.DONE

    @property
    def schedules_not_recreated(self) -> list[dict]:
        return [r for r in self.schedule_results if not r["ok"]]

    @property
    def schedules_recreated(self) -> list[dict]:
        return [r for r in self.schedule_results if r["ok"]]

    @property
    def has_failures(self) -> bool:
        return bool(self.failed or self.skipped or self.schedules_not_recreated or self.note)


def offboarding_report(*, job: BulkJob) -> OffboardingReport:
    progress = bulk_runner.bulk_job_progress(job=job)
    writes = list(job.writes.order_by("contact_name", "pk"))
    params = job.params
    phase = params.get("phase", Phase.READING)
    return OffboardingReport(
        job=job, progress=progress, phase=phase, phase_label=PHASE_LABELS.get(phase, phase),
        read=params.get("read", 0),
        failed=[w for w in writes if w.status in (SparkWrite.Status.FAILED, SparkWrite.Status.DISCARDED)],
        open=[w for w in writes if w.status in SparkWrite.OPEN],
        confirmed=[w for w in writes if w.status == SparkWrite.Status.CONFIRMED],
        skipped=params.get("skipped", []), schedule_results=params.get("schedule_results", []),
        note=params.get("note", ""), disable_login=bool(params.get("disable_login")),
        login_disabled=bool(params.get("login_disabled")),
    )


# -- Celery: thin tasks ----------------------------------------------------------------------------------------------


@shared_task(acks_late=True)
def run_offboarding(job_id: int) -> int:
    job = BulkJob.objects.select_related("account", "created_by").filter(pk=job_id).first()
    return offboarding_prepare(job=job) if job else 0


@shared_task(acks_late=True)
def finish_offboarding(job_id: int) -> bool:
    job = BulkJob.objects.select_related("account").filter(pk=job_id).first()
    if job is None:
        return True
    if not offboarding_finish(job=job):
        finish_offboarding.apply_async((job_id,), countdown=FINISH_POLL_S)
        return False
    return True
