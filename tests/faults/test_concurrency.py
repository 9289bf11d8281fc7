"""Row locks under concurrency, against real PostgreSQL: a bulk job's preparation, news feed schedule changes and
edits of the same agent's contacts, all at once, never deadlock; a bulk job whose preparation died is resumed (or
failed with a reason) by the outbox sweep, never left "Preparing…"."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from contacts_app import bulk, services
from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.outbox import bulk as bulk_runner
from crm.outbox.models import BulkJob, SparkWrite
from crm.outbox.worker import outbox_sweep
from newsfeeds_app import services as feed_services
from newsfeeds_app.models import NewsFeed
from newsfeeds_app.schedules import ScheduleChoice
from newsfeeds_app.sync import newsfeeds_sync
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]

ROUNDS = 4


@pytest.fixture
def alice(fresh_sim, link_agent):
    account = link_agent("alice")
    contacts_sync(account=account, full=True)
    newsfeeds_sync(account=account)
    return account


class Racer(threading.Thread):
    """Runs `step` until told to stop (or `rounds` times), keeping every exception it meets."""

    def __init__(self, name: str, step, start: threading.Event, rounds: int | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.step, self.go, self.rounds = step, start, rounds
        self.errors: list[BaseException] = []
        self.done = 0
        self.stop = threading.Event()

    def run(self) -> None:
        self.go.wait()
        try:
            while not self.stop.is_set() and (self.rounds is None or self.done < self.rounds):
                try:
                    self.step(self.done)
                except Exception as exc:  # noqa: BLE001 - the test reports every one
                    self.errors.append(exc)
                self.done += 1
        finally:
            connection.close()


def test_bulk_preparation_schedule_changes_and_edits_never_deadlock(alice, start_worker):
    ids = list(Contact.objects.filter(owner=alice, pending_delete=False).order_by("pk").values_list("pk", flat=True))
    feeds = list(NewsFeed.objects.filter(account=alice, active=True, notifications_active=True, contact__isnull=False)
                 .select_related("contact").order_by("pk"))
    assert len(ids) >= 40 and feeds
    go = threading.Event()
    jobs: list[BulkJob] = []

    def prepare(n: int) -> None:
        # Created without its Celery message: this thread is the only one preparing it.
        job = BulkJob.objects.create(account=alice, created_by=alice.user, kind=BulkJob.Kind.TAG_ADD,
                                     params={"tag": f"Race {n}"}, contact_ids=ids, total=len(ids))
        jobs.append(job)
        bulk_runner.bulk_job_prepare(job=job)

    client = Client()  # the schedule page as the agent uses it: a deadlock there was a 500
    client.force_login(alice.user)
    instant_default = ScheduleChoice.build("Instant")

    def schedule(n: int) -> None:
        feed = feeds[n % len(feeds)]
        data = {f"f{feed.pk}-frequency": "Scheduled", f"f{feed.pk}-hours": [8 + n % 9], f"f{feed.pk}-days_of_week":
                ["Monday"]}
        response = client.post(f"/newsfeeds/{feed.pk}/", data)
        assert response.status_code == 302, f"schedule page answered {response.status_code}"
        feed_services.default_schedule_set(account=alice, user=alice.user, choice=instant_default)

    edited = [f.contact for f in feeds]

    def edit(n: int) -> None:
        contact = edited[n % len(edited)]
        services.contact_update(account=alice, user=alice.user, contact=contact, changes={"Position": f"Race {n}"})
        services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag=f"Edit {n % 3}")

    preparer = Racer("bulk", prepare, go, rounds=ROUNDS)
    others = [Racer("schedules", schedule, go), Racer("edits", edit, go)]
    for racer in (preparer, *others):
        racer.start()
    go.set()
    preparer.join(120)
    for racer in others:
        racer.stop.set()
        racer.join(60)

    errors = [f"{r.name}: {type(e).__name__}: {e}" for r in (preparer, *others) for e in r.errors]
    assert not errors, "\n".join(errors[:10])
    assert not preparer.is_alive() and preparer.done == ROUNDS
    assert all(r.done > 0 for r in others)
    for job in jobs:
        job.refresh_from_db()
        assert job.status != BulkJob.Status.PREPARING
        assert job.writes.count() == len(ids)

    # Every job finishes once the outbox has delivered its writes.
    start_worker()

    def all_done() -> bool:
        outbox_sweep()
        return all(bulk_runner.bulk_job_progress(job=BulkJob.objects.get(pk=j.pk)).done for j in jobs)

    wait_for(all_done, timeout=200, interval=1, message="every bulk job to finish")
    assert not SparkWrite.objects.filter(bulk_job__in=jobs).exclude(status="confirmed").exists()


def _stale(job: BulkJob, seconds: float = 3600) -> None:
    BulkJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - dt.timedelta(seconds=seconds))


def test_bulk_job_whose_preparation_died_is_resumed_by_the_sweep(alice, start_worker):
    ids = list(Contact.objects.filter(owner=alice, pending_delete=False).order_by("pk").values_list("pk", flat=True))
    # The worker died a third of the way through: some writes exist, the job still says "preparing", and its
    # Celery message is gone.
    job = BulkJob.objects.create(account=alice, created_by=alice.user, kind=BulkJob.Kind.TAG_ADD,
                                 params={"tag": "Resumed"}, contact_ids=ids, total=len(ids))
    for contact in Contact.objects.filter(pk__in=ids[: len(ids) // 3]):
        bulk._one(job, contact)
    _stale(job)

    start_worker()
    time.sleep(1)
    outbox_sweep()
    wait_for(lambda: BulkJob.objects.get(pk=job.pk).status != BulkJob.Status.PREPARING, timeout=60,
             message=f"the sweep to resume the job {BulkJob.objects.filter(pk=job.pk).values()}")
    assert job.writes.count() == len(ids)
    assert sorted(job.writes.values_list("contact_id", flat=True)) == sorted(ids)  # one write per contact

    def done() -> bool:
        outbox_sweep()
        return bulk_runner.bulk_job_progress(job=BulkJob.objects.get(pk=job.pk)).done

    wait_for(done, timeout=120, interval=1, message="the resumed job to finish")


@pytest.mark.allows_tracebacks("the test makes preparation die on purpose; each death is logged with its traceback")
def test_bulk_job_whose_preparation_keeps_dying_is_failed_with_a_reason(alice, settings):
    ids = list(Contact.objects.filter(owner=alice).order_by("pk").values_list("pk", flat=True))[:5]
    # No tag in its parameters: every preparation attempt raises.
    job = BulkJob.objects.create(account=alice, created_by=alice.user, kind=BulkJob.Kind.TAG_ADD, params={},
                                 contact_ids=ids, total=len(ids))
    settings.OUTBOX_SWEEP_GRACE_S = 0
    from crm.outbox.tasks import run_bulk_job

    for _ in range(10):
        run_bulk_job(job.pk)  # what the sweep's messages run, in this process
        outbox_sweep()
        if BulkJob.objects.get(pk=job.pk).status != BulkJob.Status.PREPARING:
            break
    job.refresh_from_db()
    assert job.status == "failed"
    client = Client()
    client.force_login(alice.user)
    page = client.get(f"/contacts/jobs/{job.pk}/").content.decode()
    assert "Preparing…" not in page and "KeyError" in page and "tries" in page


def test_a_contact_gone_or_refused_during_preparation_is_skipped_with_its_reason_and_the_job_finishes(alice):
    ids = list(Contact.objects.filter(owner=alice, pending_delete=False).order_by("pk").values_list("pk", flat=True))
    gone, kept = ids[0], ids[1:4]
    job = BulkJob.objects.create(account=alice, created_by=alice.user, kind=BulkJob.Kind.TAG_ADD,
                                 params={"tag": "Skip test"}, contact_ids=[gone, *kept], total=4)
    Contact.objects.filter(pk=gone).delete()  # deleted (or transferred away) after the agent chose it
    assert bulk_runner.bulk_job_prepare(job=job) == 3
    job.refresh_from_db()
    progress = bulk_runner.bulk_job_progress(job=job)
    assert progress.skipped == 1 and job.params["skipped"][0]["reason"] == "No longer in your contacts."
    SparkWrite.objects.filter(bulk_job=job).update(status=SparkWrite.Status.CONFIRMED)
    assert bulk_runner.bulk_job_progress(job=job).done  # before: 3 of 4 forever, the page polling "Preparing…" on
    page = Client()
    page.force_login(alice.user)
    assert "Skipped: No longer in your contacts." in page.get(f"/contacts/jobs/{job.pk}/").content.decode()
