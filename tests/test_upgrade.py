"""Upgrading a database filled before the agents and the outbox moved out of contacts_app (crm.agents, crm.outbox):
every row is still there, the Broker group keeps its permissions, and a write queued before the upgrade goes out."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.agents.models import SparkAccount
from crm.outbox.bulk import bulk_job_progress
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite
from crm.outbox.worker import write_deliver
from newsfeeds_app.models import NewsFeed
from newsfeeds_app.sync import newsfeeds_sync
from newsfeeds_app.tasks import run_schedule_bulk_job

# The schema before the move: the leaves of main when it was made.
BEFORE = [("contacts_app", "0013_csv_import_in_background"), ("newsfeeds_app", "0001_initial"),
          ("sharing_app", "0001_initial"), ("agents", None), ("outbox", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)  # DDL after rows in one transaction is refused ("pending trigger events")
def test_a_database_filled_before_the_move_keeps_its_rows_and_sends_its_queued_write(fresh_sim, link_agent):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    synced = Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk").first()
    newsfeeds_sync(account=alice)
    feed = NewsFeed.objects.filter(account=alice, contact__isnull=False, active=True,
                                   notifications_active=True).order_by("pk").first()
    leaves = _leaves()

    executor = _migrate(BEFORE)
    try:
        old = executor.loader.project_state([node for node in BEFORE if node[1]]).apps
        assert old.get_model("contacts_app", "SparkWrite")._meta.db_table == "contacts_app_sparkwrite"
        OldAccount = old.get_model("contacts_app", "SparkAccount")
        OldContact = old.get_model("contacts_app", "Contact")
        OldWrite = old.get_model("contacts_app", "SparkWrite")
        OldBulkJob = old.get_model("contacts_app", "BulkJob")
        OldAudit = old.get_model("contacts_app", "AuditEvent")
        OldScheduleJob = old.get_model("newsfeeds_app", "ScheduleBulkJob")
        OldScheduleItem = old.get_model("newsfeeds_app", "ScheduleBulkItem")

        account = OldAccount.objects.get(pk=alice.pk)
        contact = OldContact.objects.get(pk=synced.pk)
        added = OldContact.objects.create(owner=account, display_name="Added Before The Upgrade",
                                          primary_email="before@example.com", write_state="failed")
        queued = OldWrite.objects.create(account=account, contact=contact, contact_name=contact.display_name,
                                         kind="tag_add", payload={"tag": "Upgraded"}, status="queued")
        OldContact.objects.filter(pk=contact.pk).update(write_state="pending")
        failed = OldWrite.objects.create(account=account, contact=added, contact_name=added.display_name,
                                         kind="create", payload={"attributes": {"DisplayName": added.display_name}},
                                         status="failed", attempts=1, spark_status=400, spark_code=1010,
                                         spark_message="Spark refused it")
        job = OldBulkJob.objects.create(account=account, kind="tag_add", params={"tag": "Upgraded"},
                                        contact_ids=[contact.pk, added.pk], total=2, status="preparing")
        schedule_job = OldScheduleJob.objects.create(account=account, contact_ids=[contact.pk], sentence="Daily",
                                                     choice={"Frequency": "Daily"}, status="running", total=1)
        OldScheduleItem.objects.create(job=schedule_job, feed_name="Homes", contact_name=contact.display_name,
                                       skipped="No feed")
        # Queued under the old task name and not yet prepared when the upgrade came.
        schedule_preparing = OldScheduleJob.objects.create(account=account, contact_ids=[feed.contact_id],
                                                           sentence="Instant", choice={"Frequency": "Instant"},
                                                           status="preparing", total=1)
        for write, outcome in ((queued, "pending"), (failed, "failed")):
            OldAudit.objects.create(actor_name="Alice", source="page", account=account, contact_id=write.contact_id,
                                    contact_name=write.contact_name, write=write, action=write.kind, outcome=outcome)
    finally:
        _migrate(leaves)
        ContentType.objects.clear_cache()

    # Every row, where the models now live.
    assert SparkAccount.objects.get(pk=alice.pk).spark_user_id == alice.spark_user_id
    assert Contact.objects.get(pk=added.pk).display_name == "Added Before The Upgrade"
    assert Contact.objects.filter(owner=alice).count() == OldContact.objects.filter(owner=account).count()
    assert SparkWrite.objects.get(pk=queued.pk).status == "queued"
    kept = SparkWrite.objects.get(pk=failed.pk)
    assert (kept.status, kept.spark_message, kept.retryable) == ("failed", "Spark refused it", True)
    moved = BulkJob.objects.get(pk=job.pk)
    assert (moved.status, moved.contact_ids, moved.account_id) == ("preparing", [contact.pk, added.pk], alice.pk)
    # The schedule bulk job became a bulk job like any other, its item among its results, and it finishes.
    scheduled = BulkJob.objects.get(kind=BulkJob.Kind.SCHEDULE, params__schedule_job_id=schedule_job.pk)
    assert (scheduled.status, scheduled.account_id, scheduled.contact_ids) == ("running", alice.pk, [contact.pk])
    assert scheduled.describe() == "Schedule: Daily"
    assert [(s["feed_name"], s["name"], s["reason"]) for s in scheduled.params["skipped"]] == [
        ("Homes", contact.display_name, "No feed")]
    assert bulk_job_progress(job=scheduled).done
    assert BulkJob.objects.get(pk=scheduled.pk).status == "done"
    # The one still preparing: a message under the old task name runs it through the one runner, and it finishes.
    resumed = BulkJob.objects.get(kind=BulkJob.Kind.SCHEDULE, params__schedule_job_id=schedule_preparing.pk)
    assert resumed.status == "preparing"
    feeds = NewsFeed.objects.filter(account=alice, contact_id=feed.contact_id).count()
    assert run_schedule_bulk_job(schedule_preparing.pk) == feeds
    for write in resumed.writes.all():
        assert write_deliver(write.pk) == "confirmed"
        assert write.payload["feed_name"]
    progress = bulk_job_progress(job=BulkJob.objects.get(pk=resumed.pk))
    assert progress.done and progress.confirmed >= 1
    assert set(AuditEvent.objects.filter(write__in=[queued.pk, failed.pk]).values_list("write_id", "outcome")) == {
        (queued.pk, "pending"), (failed.pk, "failed")}

    # The permissions followed the models, and the Broker group still holds them.
    assert ContentType.objects.get_for_model(SparkWrite).app_label == "outbox"
    assert ContentType.objects.get_for_model(SparkAccount).app_label == "agents"
    broker = Group.objects.filter(name="Broker").first()
    if broker is not None:
        held = set(broker.permissions.values_list("content_type__app_label", "codename"))
        assert {("outbox", "retry_sparkwrite"), ("agents", "offboard_sparkaccount"),
                ("outbox", "view_auditevent")} <= held

    # The write queued before the upgrade goes out.
    assert write_deliver(queued.pk) == "confirmed"
    assert "Upgraded" in fresh_sim.control("GET", f"/_sim/contacts/{synced.spark_id}").json()["Tags"]
    assert Contact.objects.get(pk=synced.pk).write_state == ""
