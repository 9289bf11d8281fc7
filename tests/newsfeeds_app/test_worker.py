"""Through a real worker: quick successive changes to one schedule reach Spark in the order they were made, and
beat's task refreshes every linked agent's feeds."""

from __future__ import annotations

import pytest

from contacts_app.sync import contacts_sync
from crm.outbox.models import SparkWrite
from newsfeeds_app import services
from newsfeeds_app.models import NewsFeed, Schedule
from newsfeeds_app.schedules import ScheduleChoice
from newsfeeds_app.sync import newsfeeds_sync
from newsfeeds_app.tasks import sync_all_newsfeeds
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_set_change_remove_in_quick_succession_lands_in_order(fresh_sim, link_agent, celery_worker_proc):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    newsfeeds_sync(account=alice)
    writes = [
        services.default_schedule_set(account=alice, user=alice.user, choice=ScheduleChoice.build("Scheduled", [7])),
        services.default_schedule_set(account=alice, user=alice.user, choice=ScheduleChoice.build("Instant")),
        services.default_schedule_remove(account=alice, user=alice.user),
        services.default_schedule_set(account=alice, user=alice.user,
                                      choice=ScheduleChoice.build("Scheduled", [20], ["Sunday"])),
    ]
    wait_for(lambda: not SparkWrite.objects.filter(pk__in=[w.pk for w in writes], status__in=SparkWrite.OPEN)
             .exists(), timeout=60, message="all four changes to settle")
    assert set(SparkWrite.objects.filter(pk__in=[w.pk for w in writes]).values_list("status", flat=True)) == {
        "confirmed"}
    spark = [s for s in fresh_sim.control("GET", "/_sim/schedules").json()["schedules"]
             if s["Subject"] == ["user", alice.spark_user_id]]
    assert len(spark) == 1 and spark[0]["HoursOfDay"] == [20] and spark[0]["DaysOfWeek"] == ["Sunday"]
    row = Schedule.objects.get(account=alice, feed__isnull=True)
    assert row.spark_id == spark[0]["Id"] and row.hours_of_day == [20] and row.write_status == ""


def test_beat_task_syncs_every_linked_agent(fresh_sim, link_agent, celery_worker_proc):
    accounts = [link_agent("alice"), link_agent("bob")]
    for account in accounts:
        contacts_sync(account=account, full=True)
    assert sync_all_newsfeeds() == 2  # as beat runs it; the per-agent syncs run on the worker
    wait_for(lambda: all(NewsFeed.objects.filter(account=a).exists() for a in accounts), timeout=30,
             message="both agents' feeds in the store")
