"""An agent sets and clears the default schedule, gives a contact's feed its own schedule and removes it, and
applies one schedule to several contacts — in the browser, through a real worker, against sparksim."""

from __future__ import annotations

import json

import pytest

from contacts_app.models import SparkWrite
from contacts_app.sync import contacts_sync
from newsfeeds_app.models import NewsFeed, Schedule
from newsfeeds_app.sync import newsfeeds_sync
from tests.conftest import wait_for
from tests.e2e.test_contacts_list import login

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


@pytest.fixture
def alice(fresh_sim, link_agent):
    account = link_agent("alice")
    contacts_sync(account=account, full=True)
    newsfeeds_sync(account=account)
    return account


def writes_settled():
    return not SparkWrite.objects.filter(status__in=SparkWrite.OPEN).exists()


def spark_writes(sim, seq):
    return [(r["method"], r["path"], json.loads(r["body"]) if r["body"] else None) for r in sim.requests_since(seq)
            if r["method"] in ("POST", "PUT", "DELETE") and r["path"] != "/v1/session"]


def test_default_schedule_set_shown_pending_confirmed_then_removed(fresh_sim, alice, live_server, page,
                                                                   celery_worker_proc):
    login(page, live_server, "alice", "pw-alice")
    page.goto(live_server.url + "/newsfeeds/schedule/")
    assert page.locator("#no-default").is_visible()

    page.check("input[name=default-frequency][value=Scheduled]")
    for day in WEEKDAYS:
        page.check(f"input[name=default-days_of_week][value={day}]")
    page.check("input[name=default-hours][value='8']")
    page.check("input[name=default-hours][value='17']")
    preview = page.locator("#default-form .preview")
    preview.get_by_text("Weekdays at 8 am and 5 pm").wait_for()
    assert preview.locator("ol.deliveries li").count() == 5
    assert "America/Chicago" in preview.inner_text()

    seq = fresh_sim.last_seq()
    page.click("button[value=save]")
    current = page.locator("#default-current")
    assert "Weekdays at 8 am and 5 pm" in current.inner_text()
    assert current.locator(".state-pending").count() == 1  # shown at once, marked pending

    wait_for(writes_settled, message="the default schedule to reach Spark")
    page.reload()
    assert current.locator(".state").count() == 0
    assert current.locator("ol.deliveries li").count() == 5
    assert spark_writes(fresh_sim, seq) == [("POST", "/v1/newsfeeds/schedule", {"D": {
        "Frequency": "Scheduled", "HoursOfDay": [8, 17], "DaysOfWeek": WEEKDAYS, "DaysOfMonth": None}})]

    spark_id = Schedule.objects.get(account=alice, feed__isnull=True).spark_id
    seq = fresh_sim.last_seq()
    page.click("#remove-default")
    assert "removal pending" in current.inner_text()
    wait_for(writes_settled, message="the removal to reach Spark")
    page.reload()
    assert page.locator("#no-default").is_visible()
    assert spark_writes(fresh_sim, seq) == [("DELETE", f"/v1/newsfeeds/schedule/{spark_id}", None)]


def test_invalid_choice_is_refused_in_the_page_without_a_request_to_spark(fresh_sim, alice, live_server, page):
    login(page, live_server, "alice", "pw-alice")
    page.goto(live_server.url + "/newsfeeds/schedule/")
    page.check("input[name=default-frequency][value=Instant]")
    page.check("input[name=default-days_of_month][value='15']")
    page.locator("#default-form .preview").get_by_text("An Instant schedule takes no hours or days").wait_for()
    seq = fresh_sim.last_seq()
    page.click("button[value=save]")
    assert "An Instant schedule takes no hours or days" in page.locator("#default-form .form-errors").inner_text()
    assert not SparkWrite.objects.exists()
    assert [r for r in fresh_sim.requests_since(seq) if r["path"].startswith("/v1/newsfeeds")] == []


def test_feed_gets_its_own_schedule_on_the_contact_page_and_falls_back_when_removed(
        fresh_sim, alice, live_server, page, celery_worker_proc):
    feed = NewsFeed.objects.filter(account=alice, active=True, notifications_active=True).select_related(
        "contact").order_by("spark_id").first()
    login(page, live_server, "alice", "pw-alice")
    page.goto(live_server.url + f"/contacts/{feed.contact.pk}/")
    block = page.locator(f"#feed-{feed.pk}")
    assert "Uses your default schedule" in block.inner_text()

    block.locator("summary").click()
    block.locator(f"input[name=f{feed.pk}-frequency][value=Scheduled]").check()
    block.locator(f"input[name=f{feed.pk}-days_of_month][value='1']").check()
    block.locator(f"input[name=f{feed.pk}-hours][value='9']").check()
    block.locator(".preview").get_by_text("On the 1st of each month at 9 am").wait_for()
    seq = fresh_sim.last_seq()
    block.locator("button[value=save]").click()
    block.get_by_text("Schedule saved; sending it to flexmls.").wait_for()
    assert "Own schedule" in block.inner_text() and "pending" in block.inner_text()

    wait_for(writes_settled, message="the feed schedule to reach Spark")
    page.reload()
    block = page.locator(f"#feed-{feed.pk}")
    assert "On the 1st of each month at 9 am" in block.inner_text()
    assert block.locator(".state").count() == 0 and block.locator("ol.deliveries li").count() == 5
    path = f"/v1/contacts/{feed.contact_spark_id}/newsfeeds/{feed.spark_id}/schedule"
    assert spark_writes(fresh_sim, seq) == [("POST", path, {"D": {
        "Frequency": "Scheduled", "HoursOfDay": [9], "DaysOfWeek": None, "DaysOfMonth": [1]}})]

    spark_id = Schedule.objects.get(feed=feed).spark_id
    seq = fresh_sim.last_seq()
    block.locator("button[value=remove]").click()
    block.get_by_text("falls back to your default schedule").first.wait_for()
    wait_for(writes_settled, message="the removal to reach Spark")
    page.reload()
    assert "Uses your default schedule" in page.locator(f"#feed-{feed.pk}").inner_text()
    assert spark_writes(fresh_sim, seq) == [("DELETE", f"{path}/{spark_id}", None)]

    page.goto(live_server.url + "/newsfeeds/")
    assert "Default" in page.locator(f"#feed-row-{feed.pk}").inner_text()


def test_one_schedule_for_several_contacts_with_progress(fresh_sim, alice, live_server, page, celery_worker_proc):
    feeds = list(NewsFeed.objects.filter(account=alice).select_related("contact"))
    login(page, live_server, "alice", "pw-alice")
    page.goto(live_server.url + "/newsfeeds/")
    for contact_id in {f.contact_id for f in feeds}:
        page.check(f"input[name=bulk-contacts][value='{contact_id}']")
    page.check("input[name=bulk-frequency][value=Scheduled]")
    page.check("input[name=bulk-days_of_week][value=Saturday]")
    page.check("input[name=bulk-hours][value='10']")
    page.click("button[name=bulk-action][value=set]")
    page.wait_for_url("**/newsfeeds/jobs/**")
    page.get_by_text("finished").wait_for(timeout=30_000)
    live = [f for f in feeds if f.active and f.notifications_active]
    summary = page.locator("#job-summary").inner_text()
    assert f"{len(live)} confirmed" in summary and f"{len(feeds) - len(live)} skipped" in summary
    assert page.locator("tr.result-confirmed").count() == len(live)
    spark = fresh_sim.control("GET", "/_sim/schedules").json()["schedules"]
    for f in live:
        mine = [s for s in spark if s["NewsfeedId"] == f.spark_id]
        assert len(mine) == 1 and mine[0]["DaysOfWeek"] == ["Saturday"] and mine[0]["HoursOfDay"] == [10]
