"""The pages: the agent's own feeds only, bad choices refused in the page (422, the reason, no Spark call)."""

from __future__ import annotations

import pytest
from django.test import Client

from contacts_app.sync import contacts_sync
from crm.outbox.models import SparkWrite
from newsfeeds_app.models import NewsFeed, Schedule
from newsfeeds_app.schedules import INSTANT_SENTENCE
from newsfeeds_app.sync import newsfeeds_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(fresh_sim, link_agent):
    account = link_agent("alice")
    contacts_sync(account=account, full=True)
    newsfeeds_sync(account=account)
    return account


def client_for(login: str) -> Client:
    client = Client()
    assert client.login(username=login, password=f"pw-{login}")
    return client


def test_index_lists_feeds_with_contact_and_default_or_own(alice):
    feed = NewsFeed.objects.filter(account=alice, notifications_active=True).first()
    Schedule.objects.create(account=alice, feed=feed, frequency="Scheduled", hours_of_day=[8, 17],
                            days_of_week=["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"])
    Schedule.objects.create(account=alice, frequency="Instant")
    html = client_for("alice").get("/newsfeeds/").content.decode()
    assert "Weekdays at 8 am and 5 pm" in html
    assert INSTANT_SENTENCE in html
    for f in NewsFeed.objects.filter(account=alice).select_related("contact"):
        assert f.contact.display_name in html


def test_another_agents_feed_is_a_404(alice, link_agent):
    link_agent("bob")
    feed = NewsFeed.objects.filter(account=alice).first()
    bob = client_for("bob")
    assert bob.get(f"/newsfeeds/{feed.pk}/").status_code == 404
    assert bob.post(f"/newsfeeds/{feed.pk}/", {"action": "remove"}).status_code == 404
    assert not SparkWrite.objects.exists()


@pytest.mark.parametrize(("data", "reason"), [
    ({"default-frequency": "Scheduled", "default-hours": ["25"]}, "Hours of the day are 0 to 23"),
    ({"default-frequency": "Scheduled", "default-days_of_week": ["Funday"]}, "is not a day of the week"),
    ({"default-frequency": "Scheduled", "default-days_of_month": ["32"]}, "Days of the month are 1 to 31"),
    ({"default-frequency": "Weekly"}, "Choose Instant or Scheduled"),
])
def test_bad_default_choices_are_refused_in_the_page_without_a_call_to_spark(alice, fresh_sim, data, reason):
    seq = fresh_sim.last_seq()
    resp = client_for("alice").post("/newsfeeds/schedule/", {**data, "action": "save"})
    assert resp.status_code == 422
    assert reason in resp.content.decode()
    assert not SparkWrite.objects.exists() and not Schedule.objects.filter(account=alice).exists()
    assert [r for r in fresh_sim.requests_since(seq) if r["path"] != "/v1/session"] == []


def test_instant_with_boxes_left_ticked_saves_instant_without_them(alice):
    resp = client_for("alice").post("/newsfeeds/schedule/", {"default-frequency": "Instant", "default-hours": ["8"],
                                                             "default-days_of_week": ["Monday"], "action": "save"})
    assert resp.status_code == 302
    row = Schedule.objects.get(account=alice, feed__isnull=True)
    assert row.frequency == "Instant" and not row.hours_of_day and not row.days_of_week


def test_feed_form_over_htmx_returns_the_feed_block_marked_pending(alice):
    feed = NewsFeed.objects.filter(account=alice, notifications_active=True, active=True).first()
    resp = client_for("alice").post(
        f"/newsfeeds/{feed.pk}/", {f"f{feed.pk}-frequency": "Scheduled", f"f{feed.pk}-hours": ["6"],
                                   "action": "save"}, HTTP_HX_REQUEST="true")
    html = resp.content.decode()
    assert resp.status_code == 200 and html.lstrip().startswith(f'<article class="feed" id="feed-{feed.pk}"')
    assert "Every day at 6 am" in html and "pending" in html
    assert SparkWrite.objects.get().kind == SparkWrite.Kind.FEED_SCHEDULE_SET


def test_preview_shows_sentence_and_five_times_or_the_reason(alice):
    client = client_for("alice")
    html = client.get("/newsfeeds/preview/", {"prefix": "default", "default-frequency": "Scheduled",
                                              "default-hours": ["9"], "default-days_of_week": ["Monday"]}).content.decode()
    assert "Mondays at 9 am" in html and html.count("<li>") == 5
    html = client.get("/newsfeeds/preview/", {"prefix": "default", "default-frequency": "Instant",
                                              "default-days_of_month": ["3"]}).content.decode()
    assert INSTANT_SENTENCE in html  # Instant takes no days: a box left ticked is dropped, not refused


def test_removing_a_schedule_the_feed_does_not_have_says_so_and_returns_to_the_page(alice):
    feed = NewsFeed.objects.filter(account=alice).first()
    Schedule.objects.filter(feed=feed).delete()
    client = client_for("alice")
    resp = client.post(f"/newsfeeds/{feed.pk}/", {"action": "remove", "next": "/newsfeeds/"}, follow=True)
    assert resp.status_code == 200
    assert resp.redirect_chain == [("/newsfeeds/", 302)]
    assert "That feed had no schedule of its own" in resp.content.decode()
    htmx = client.post(f"/newsfeeds/{feed.pk}/", {"action": "remove"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and "That feed had no schedule of its own" in htmx.content.decode()
    assert not SparkWrite.objects.exists()


def test_removing_a_default_schedule_that_is_not_there_says_so(alice):
    Schedule.objects.filter(account=alice, feed__isnull=True).delete()
    resp = client_for("alice").post("/newsfeeds/schedule/", {"action": "remove"}, follow=True)
    assert resp.status_code == 200
    assert "There is no default schedule to remove" in resp.content.decode()
    assert not SparkWrite.objects.exists()


@pytest.mark.parametrize("target", ["foo", "newsfeeds:index", "//evil.example/", "https://evil.example/"])
def test_a_next_that_is_not_a_local_path_returns_to_the_feed(alice, target):
    feed = NewsFeed.objects.filter(account=alice, notifications_active=True, active=True).first()
    resp = client_for("alice").post(f"/newsfeeds/{feed.pk}/", {
        f"f{feed.pk}-frequency": "Scheduled", f"f{feed.pk}-hours": ["6"], "action": "save", "next": target})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/newsfeeds/{feed.pk}/"
    page = client_for("alice").get(f"/newsfeeds/{feed.pk}/", {"next": target}).content.decode()
    assert f'name="next" value="{target}"' not in page
