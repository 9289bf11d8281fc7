"""An agent sets and clears the default schedule, gives a contact's feed its own schedule and removes it, and
applies one schedule to several contacts — in the browser, from the state `make run` leaves (demo_world), through
its real worker and beat, against sparksim."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from newsfeeds_app.models import NewsFeed, Schedule
from tests.e2e.journeys import list_loaded, revisit_until

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def spark_writes(sim, seq):
    return [(r["method"], r["path"], json.loads(r["body"]) if r["body"] else None) for r in sim.requests_since(seq)
            if r["method"] in ("POST", "PUT", "DELETE") and r["path"] != "/v1/session"]


def feeds_arrived(world, page) -> None:
    """The news feeds page lists the agent's feeds, each with its contact (all fetched in the background)."""
    list_loaded(page)
    page.get_by_role("link", name="News feeds", exact=True).click()
    for _ in range(60):
        if page.locator("tr.feed-row").count() and not page.get_by_text("a contact not synced yet").count():
            return
        page.wait_for_timeout(1000)
        page.reload()
    raise AssertionError("the news feeds and their contacts did not arrive within a minute")


def test_default_schedule_set_shown_pending_confirmed_then_removed(demo_world, page):
    fresh_sim = demo_world.sim
    demo_world.login(page, "alice")
    page.get_by_role("link", name="News feeds", exact=True).click()
    page.get_by_role("link", name="Set the default schedule").click()
    assert page.locator("#no-default").is_visible()
    url = page.url

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

    revisit_until(page, url, "#default-current:not(:has(.state)) ol.deliveries li")  # confirmed by flexmls
    assert current.locator("ol.deliveries li").count() == 5
    assert spark_writes(fresh_sim, seq) == [("POST", "/v1/newsfeeds/schedule", {"D": {
        "Frequency": "Scheduled", "HoursOfDay": [8, 17], "DaysOfWeek": WEEKDAYS, "DaysOfMonth": None}})]

    spark_id = Schedule.objects.get(account__user__username="alice", feed__isnull=True).spark_id
    seq = fresh_sim.last_seq()
    page.click("#remove-default")
    assert "removal pending" in current.inner_text()
    revisit_until(page, url, "#no-default")
    assert spark_writes(fresh_sim, seq) == [("DELETE", f"/v1/newsfeeds/schedule/{spark_id}", None)]


def test_instant_takes_no_hours_or_days_and_nothing_inconsistent_reaches_spark(demo_world, page):
    demo_world.login(page, "alice")
    page.goto(demo_world.url + "/newsfeeds/schedule/")
    page.check("input[name=default-frequency][value=Scheduled]")
    page.check("input[name=default-days_of_month][value='15']")
    page.check("input[name=default-frequency][value=Instant]")
    expect(page.locator("input[name=default-days_of_month][value='15']")).not_to_be_checked()
    expect(page.locator("input[name=default-days_of_month][value='15']")).to_be_disabled()
    expect(page.locator("#default-form .preview")).to_contain_text("Instantly")
    seq = demo_world.sim.last_seq()
    page.click("button[value=save]")
    expect(page.locator("#default-current")).to_contain_text("Instantly")
    expect(page.locator("#default-form .form-errors")).to_have_count(0)
    revisit_until(page, page.url, "#default-current:not(:has(.state))")  # confirmed by flexmls
    sent = [body for method, path, body in spark_writes(demo_world.sim, seq) if path == "/v1/newsfeeds/schedule"]
    assert len(sent) == 1 and sent[0]["D"]["Frequency"] == "Instant"
    assert not any(sent[0]["D"].get(k) for k in ("HoursOfDay", "DaysOfWeek", "DaysOfMonth"))


def test_feed_gets_its_own_schedule_on_the_contact_page_and_falls_back_when_removed(demo_world, page):
    fresh_sim = demo_world.sim
    demo_world.login(page, "alice")
    feeds_arrived(demo_world, page)
    feed = NewsFeed.objects.filter(account__user__username="alice", active=True, notifications_active=True,
                                   contact__isnull=False).select_related("contact").order_by("spark_id").first()
    page.locator(f"#feed-row-{feed.pk} td a[href^='/contacts/']").click()
    contact_url = page.url
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

    revisit_until(page, contact_url, f"#feed-{feed.pk}:not(:has(.state)) ol.deliveries li")
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
    revisit_until(page, contact_url, f"#feed-{feed.pk} .uses-default")
    assert "Uses your default schedule" in page.locator(f"#feed-{feed.pk}").inner_text()
    assert spark_writes(fresh_sim, seq) == [("DELETE", f"{path}/{spark_id}", None)]

    page.get_by_role("link", name="News feeds", exact=True).click()
    assert "Default" in page.locator(f"#feed-row-{feed.pk}").inner_text()


def test_one_schedule_for_several_contacts_with_progress(demo_world, page):
    fresh_sim = demo_world.sim
    demo_world.login(page, "alice")
    feeds_arrived(demo_world, page)
    feeds = list(NewsFeed.objects.filter(account__user__username="alice", contact__isnull=False)
                 .select_related("contact"))
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
