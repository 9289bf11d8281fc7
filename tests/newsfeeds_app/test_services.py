"""Schedule changes against sparksim: the store row at once (pending), the documented calls and bodies through
the outbox, Spark's answer back in the store; refusals never reach Spark."""

from __future__ import annotations

import json

import pytest

from contacts_app.sync import contacts_sync
from crm.outbox.bulk import bulk_job_prepare, bulk_job_progress
from crm.outbox.models import AuditEvent, SparkWrite
from crm.outbox.queue import WriteRefused
from crm.outbox.worker import write_deliver
from newsfeeds_app import bulk, delivery, services
from newsfeeds_app.models import NewsFeed, Schedule
from newsfeeds_app.schedules import ScheduleChoice
from newsfeeds_app.sync import newsfeeds_sync

pytestmark = pytest.mark.django_db

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


@pytest.fixture
def alice(fresh_sim, link_agent):
    account = link_agent("alice")
    contacts_sync(account=account, full=True)
    newsfeeds_sync(account=account)
    return account


def calls(sim, seq, *methods):
    return [(r["method"], r["path"], json.loads(r["body"]) if r["body"] else None) for r in sim.requests_since(seq)
            if r["method"] in (methods or ("POST", "PUT", "DELETE")) and r["path"] != "/v1/session"]


def sim_schedules(sim):
    return sim.control("GET", "/_sim/schedules").json()["schedules"]


def live_feed(account) -> NewsFeed:
    return NewsFeed.objects.filter(account=account, active=True, notifications_active=True,
                                   contact__isnull=False).order_by("spark_id").first()


def test_sync_stores_feeds_with_their_contacts(alice, fresh_sim):
    feeds = NewsFeed.objects.filter(account=alice)
    assert feeds.count() >= 3
    assert all(f.contact is not None and f.contact.spark_id == f.contact_spark_id for f in feeds)
    assert all(f.subscription_name and f.name for f in feeds)


def test_default_schedule_created_when_absent_then_changed_in_place_then_removed(alice, fresh_sim):
    assert not Schedule.objects.filter(account=alice, feed__isnull=True).exists()
    seq = fresh_sim.last_seq()
    write = services.default_schedule_set(account=alice, user=alice.user,
                                           choice=ScheduleChoice.build("Scheduled", [8, 17], WEEKDAYS))
    row = Schedule.objects.get(account=alice, feed__isnull=True)
    assert row.write_status == "pending" and row.hours_of_day == [8, 17]  # shown at once

    assert write_deliver(write.pk) == "confirmed"
    assert calls(fresh_sim, seq) == [("POST", "/v1/newsfeeds/schedule", {"D": {
        "Frequency": "Scheduled", "HoursOfDay": [8, 17], "DaysOfWeek": WEEKDAYS, "DaysOfMonth": None}})]
    row.refresh_from_db()
    assert row.spark_id and row.write_status == "" and row.days_of_week == WEEKDAYS

    seq = fresh_sim.last_seq()
    write = services.default_schedule_set(account=alice, user=alice.user, choice=ScheduleChoice.build("Instant"))
    assert write_deliver(write.pk) == "confirmed"
    assert calls(fresh_sim, seq) == [("PUT", f"/v1/newsfeeds/schedule/{row.spark_id}", {"D": {"Frequency": "Instant"}})]
    assert Schedule.objects.filter(account=alice, feed__isnull=True).count() == 1
    assert Schedule.objects.get(pk=row.pk).frequency == "Instant"

    seq = fresh_sim.last_seq()
    write = services.default_schedule_remove(account=alice, user=alice.user)
    assert Schedule.objects.get(pk=row.pk).pending_delete
    assert write_deliver(write.pk) == "confirmed"
    assert calls(fresh_sim, seq) == [("DELETE", f"/v1/newsfeeds/schedule/{row.spark_id}", None)]
    assert not Schedule.objects.filter(account=alice, feed__isnull=True).exists()
    assert not [s for s in sim_schedules(fresh_sim) if s["Subject"] == ["user", alice.spark_user_id]]
    assert AuditEvent.objects.filter(write=write, outcome="confirmed").exists()


def test_feed_schedule_set_uses_the_contact_path_and_removal_falls_back(alice, fresh_sim):
    feed = live_feed(alice)
    base = f"/v1/contacts/{feed.contact_spark_id}/newsfeeds/{feed.spark_id}/schedule"
    seq = fresh_sim.last_seq()
    write = services.feed_schedule_set(account=alice, user=alice.user, feed=feed,
                                       choice=ScheduleChoice.build("Scheduled", [9], None, [1, 15]))
    assert write.contact == feed.contact
    assert write_deliver(write.pk) == "confirmed"
    assert calls(fresh_sim, seq) == [("POST", base, {"D": {
        "Frequency": "Scheduled", "HoursOfDay": [9], "DaysOfWeek": None, "DaysOfMonth": [1, 15]}})]
    row = Schedule.objects.get(feed=feed)
    assert row.spark_id and row.days_of_month == [1, 15]
    spark = [s for s in sim_schedules(fresh_sim) if s["NewsfeedId"] == feed.spark_id]
    assert len(spark) == 1 and spark[0]["DaysOfMonth"] == [1, 15]

    seq = fresh_sim.last_seq()
    write = services.feed_schedule_remove(account=alice, user=alice.user, feed=feed)
    assert write_deliver(write.pk) == "confirmed"
    assert calls(fresh_sim, seq) == [("DELETE", f"{base}/{row.spark_id}", None)]
    assert not Schedule.objects.filter(feed=feed).exists()
    assert not [s for s in sim_schedules(fresh_sim) if s["NewsfeedId"] == feed.spark_id]


def test_set_handler_run_again_after_an_unknown_outcome_updates_instead_of_duplicating(alice, fresh_sim):
    feed = live_feed(alice)
    write = services.feed_schedule_set(account=alice, user=alice.user, feed=feed,
                                       choice=ScheduleChoice.build("Scheduled", [7]))
    assert write_deliver(write.pk) == "confirmed"
    from crm.agents.spark import client_for_account

    seq = fresh_sim.last_seq()
    delivery.deliver_feed_set(client_for_account(alice), SparkWrite.objects.get(pk=write.pk))  # a redelivery
    assert [m for m, _, _ in calls(fresh_sim, seq)] == ["PUT"]
    assert len([s for s in sim_schedules(fresh_sim) if s["NewsfeedId"] == feed.spark_id]) == 1


def test_refused_choices_never_reach_spark(alice, fresh_sim):
    feed = live_feed(alice)
    silent = NewsFeed.objects.filter(account=alice, notifications_active=False).first()
    seq = fresh_sim.last_seq()
    with pytest.raises(WriteRefused, match="Instant schedule takes no hours"):
        services.default_schedule_set(account=alice, user=alice.user, choice=ScheduleChoice("Instant", hours=(8,)))
    with pytest.raises(WriteRefused, match="0 to 23"):
        services.feed_schedule_set(account=alice, user=alice.user, feed=feed,
                                   choice=ScheduleChoice("Scheduled", hours=(24,)))
    with pytest.raises(WriteRefused, match="would ever deliver"):
        services.feed_schedule_set(account=alice, user=alice.user, feed=silent, choice=ScheduleChoice("Instant"))
    with pytest.raises(WriteRefused, match="no default schedule"):
        services.default_schedule_remove(account=alice, user=alice.user)
    assert not SparkWrite.objects.filter(account=alice).exists()
    assert calls(fresh_sim, seq, "GET", "POST", "PUT", "DELETE") == []


def test_spark_refusal_marks_the_write_failed_and_the_sync_keeps_the_agents_version(alice, fresh_sim):
    feed = live_feed(alice)
    Schedule.objects.create(account=alice, feed=feed, frequency="Instant")
    # Spark holds a webhook schedule we did not know of: it refuses Scheduled.
    fresh_sim.control("POST", "/_sim/faults", json={})
    from crm.agents.spark import client_for_account
    from crm.spark.resources import newsfeeds as nf

    client = client_for_account(alice)
    nf.feed_schedule_create(client, feed.spark_id, {"Frequency": "Instant", "WebhookId": "20160101000000000000000001"})
    write = services.feed_schedule_set(account=alice, user=alice.user, feed=feed,
                                       choice=ScheduleChoice.build("Scheduled", [8]))
    assert write_deliver(write.pk) == "failed"
    write.refresh_from_db()
    assert "Instant" in write.spark_message
    newsfeeds_sync(account=alice)
    row = Schedule.objects.get(feed=feed)
    assert row.write_status == "failed" and row.hours_of_day == [8]


def test_bulk_applies_to_every_feed_of_the_chosen_contacts_and_skips_silent_ones(alice, fresh_sim):
    contacts = {f.contact_id for f in NewsFeed.objects.filter(account=alice)}
    job = bulk.schedule_bulk_start(account=alice, user=alice.user, contact_ids=list(contacts),
                                   choice=ScheduleChoice.build("Scheduled", [6], ["Saturday", "Sunday"]))
    assert bulk_job_prepare(job=job) == NewsFeed.objects.filter(account=alice).count()
    job.refresh_from_db()
    writes = list(job.writes.all())
    for write in writes:
        assert write_deliver(write.pk) == "confirmed"
    for item in job.params.get("skipped", []):
        assert "would ever deliver" in item["reason"]
    progress = bulk_job_progress(job=job)
    assert progress.done and progress.confirmed == len(writes) and progress.skipped >= 1
    assert progress.confirmed >= 1
