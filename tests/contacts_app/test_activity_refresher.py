"""The activity refresher (contacts_app/activity.py): the whole book gets a trend, most valuable first, within its
share of the key's rate budget, without ever making an agent's own request wait; refusals are recorded and backed off."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from contacts_app.activity import activity_due_contacts, activity_refresh_tick, per_tick_allowance
from contacts_app.activity_tasks import refresh_activity_tick
from contacts_app.models import Contact, ContactActivity
from contacts_app.selectors import ContactQuery, contact_list
from contacts_app.sync import contacts_sync
from crm.agents.spark import client_for_account
from crm.outbox.models import SparkWrite
from tests.conftest import wait_for


@pytest.fixture
def budget(settings):
    """A small, fast rate budget: 100 requests per 10 s, 20 % for the refresher, a 1 s tick."""
    settings.SPARK_RATE_LIMIT_REQUESTS = 100
    settings.SPARK_RATE_LIMIT_WINDOW_S = 10
    settings.ACTIVITY_BUDGET_SHARE = 0.2
    settings.ACTIVITY_TICK_S = 1.0
    return settings


def limiter_of(account):
    return client_for_account(account).rate_limiter


@pytest.mark.django_db(transaction=True)
def test_first_tick_reads_the_most_valuable_contacts_and_a_trend_follows(fresh_sim, link_agent, budget):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    assert per_tick_allowance() == 2  # 100 * 0.2 * 1 s / 10 s

    result = activity_refresh_tick()

    assert result.read == 2
    read = list(Contact.objects.filter(owner=alice, activity_fetched_at__isnull=False))
    top_two = sorted(Contact.objects.filter(owner=alice).values_list("score", flat=True), reverse=True)[:2]
    assert sorted((c.score for c in read), reverse=True) == top_two
    for c in read:
        assert c.trend_known and c.trend_7d is not None
        assert c.trend_age is not None and c.trend_age < dt.timedelta(minutes=1)
        assert len(c.activity.daily) == 30 and sum(d["score"] for d in c.activity.daily) == c.score
        # The refresher reads the series only: the contact page still reads the counts and listings itself.
        assert c.activity.fetched_at is None
    unknown = Contact.objects.filter(owner=alice, activity_fetched_at__isnull=True).first()
    assert not unknown.trend_known and unknown.trend_age is None


@pytest.mark.django_db(transaction=True)
def test_refresher_spends_only_its_share_and_agents_never_wait(fresh_sim, link_agent, budget):
    budget.ACTIVITY_TICK_S = 100.0  # a tick may read the whole share at once: only the lane's ceiling stops it
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    limiter = limiter_of(alice)
    limiter.reset()

    result = activity_refresh_tick(deadline_s=30)

    assert result.stopped and "budget in use" in result.stopped.values()
    assert 1 <= result.read <= 20
    assert limiter.in_window() <= 20  # 20 % of 100
    # The agent's own request finds its slot at once: the refresher left 80 % of the window alone.
    assert limiter.acquire() == 0.0


@pytest.mark.django_db(transaction=True)
def test_refresher_reads_nothing_while_agents_use_the_share(fresh_sim, link_agent, budget):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    limiter = limiter_of(alice)
    limiter.reset()
    for _ in range(20):  # the agents' own requests already fill 20 % of the window
        assert limiter.try_acquire() == 0

    result = activity_refresh_tick()

    assert result.read == 0 and result.stopped
    assert not Contact.objects.filter(owner=alice, activity_fetched_at__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_refresher_steps_aside_while_the_agents_writes_are_due(fresh_sim, link_agent, budget):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    limiter_of(alice).reset()
    contact = Contact.objects.filter(owner=alice).first()
    write = SparkWrite.objects.create(account=alice, contact=contact, contact_name=contact.display_name,
                                      kind=SparkWrite.Kind.TAG_ADD, payload={"tag": "Buyer"})

    result = activity_refresh_tick()

    assert result.read == 0 and "writes due" in result.stopped.values()
    # A write still in its undo window is not due yet: the refresher reads meanwhile.
    SparkWrite.objects.filter(pk=write.pk).update(next_attempt_at=timezone.now() + dt.timedelta(minutes=5))
    assert activity_refresh_tick().read == 2


def test_ticks_go_to_the_background_queue_and_expire_after_a_tick(settings):
    from crm.celery import app

    queue = app.conf.task_default_queue
    routed = app.amqp.router.route({}, "contacts_app.activity_tasks.refresh_activity_tick", (), {})
    assert routed["queue"].name == f"{queue}-background"
    assert app.amqp.router.route({}, "contacts_app.tasks.sync_all_agents", (), {})["queue"].name == queue
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-activity"]
    assert entry["options"]["expires"] == entry["schedule"] == settings.ACTIVITY_TICK_S


@pytest.mark.django_db(transaction=True)
def test_a_contact_spark_no_longer_has_is_recorded_and_not_retried_in_a_loop(fresh_sim, link_agent, budget):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    top = Contact.objects.filter(owner=alice).order_by("-score").first()
    fresh_sim.control("DELETE", f"/_sim/contacts/{top.spark_id}")  # deleted elsewhere in flexmls

    activity_refresh_tick()

    activity = ContactActivity.objects.get(contact=top)
    assert activity.unavailable == ContactActivity.Unavailable.NOT_FOUND
    assert activity.failures == 1 and activity.last_error
    assert activity.retry_at > timezone.now() + dt.timedelta(hours=23)
    assert top.pk not in [c.pk for c in activity_due_contacts(account=alice, limit=1000)]
    for _ in range(3):
        activity_refresh_tick()
    activity.refresh_from_db()
    assert activity.failures == 1  # not asked again before retry_at
    # When it is due again and still refused, the wait doubles.
    ContactActivity.objects.filter(pk=activity.pk).update(retry_at=timezone.now() - dt.timedelta(seconds=1))
    assert top.pk == activity_due_contacts(account=alice, limit=1)[0].pk
    activity_refresh_tick()
    activity.refresh_from_db()
    assert activity.failures == 2 and activity.retry_at > timezone.now() + dt.timedelta(hours=47)


@pytest.mark.django_db(transaction=True)
def test_a_contact_the_keys_role_may_not_read_is_recorded_as_forbidden(fresh_sim, link_agent, budget):
    idx = link_agent("idx")  # alice's IDX website key: the Activity expansion is Private-only
    c = Contact.objects.create(owner=idx, spark_id=fresh_sim.control(
        "GET", f"/_sim/contacts?owner={fresh_sim.account('alice')['user_id']}&limit=1").json()["contacts"][0]["Id"],
        display_name="Via IDX", score=10)

    activity_refresh_tick()

    activity = ContactActivity.objects.get(contact=c)
    assert activity.unavailable == ContactActivity.Unavailable.FORBIDDEN
    assert activity.retry_at > timezone.now() + dt.timedelta(hours=23)
    c.refresh_from_db()
    assert not c.trend_known


@pytest.mark.django_db(transaction=True)
def test_moved_scores_come_first_then_never_read_then_stale(fresh_sim, link_agent, budget):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    by_score = list(Contact.objects.filter(owner=alice).order_by("-score", "id"))
    long_ago = timezone.now() - dt.timedelta(days=2)
    low, mid = by_score[-1], by_score[len(by_score) // 2]
    # `low` was read long ago and its Score has moved since; `mid` was read long ago and has not moved.
    for c, fetched_score in ((low, (low.score or 0) + 5), (mid, mid.score)):
        ContactActivity.objects.create(contact=c, fetched_score=fetched_score)
        Contact.objects.filter(pk=c.pk).update(activity_fetched_at=long_ago, trend_7d=0)
    due = [c.pk for c in activity_due_contacts(account=alice, limit=1000)]
    assert due[0] == low.pk
    assert due[-1] == mid.pk
    assert due[1] == by_score[0].pk  # then the most valuable contact never read


@pytest.mark.django_db
def test_trend_sorts_put_unknown_trends_last(link_agent):
    alice = link_agent("alice")
    for name, trend in (("up", 5), ("down", -3), ("unknown", None), ("flat", 0)):
        Contact.objects.create(owner=alice, display_name=name, trend_7d=trend)
    rising = [c.display_name for c in contact_list(account=alice, query=ContactQuery(sort="-trend"))]
    falling = [c.display_name for c in contact_list(account=alice, query=ContactQuery(sort="trend"))]
    assert rising == ["up", "flat", "down", "unknown"]
    assert falling == ["down", "flat", "up", "unknown"]


@pytest.mark.django_db
def test_trend_partial_shows_trend_age_or_no_data(link_agent):
    alice = link_agent("alice")
    known = Contact.objects.create(owner=alice, display_name="k", trend_7d=7, relative_score=0.5,
                                   activity_fetched_at=timezone.now() - dt.timedelta(hours=2))
    unknown = Contact.objects.create(owner=alice, display_name="u")
    html = render_to_string("contacts_app/_trend.html", {"contact": known})
    assert "▲ +7" in html and "2\xa0hours ago" in html and 'title="7-day trend:' in html
    assert "no data yet" in render_to_string("contacts_app/_trend.html", {"contact": unknown})
    bar = render_to_string("contacts_app/_trend.html#relative", {"contact": known})
    assert "past 7 days" in bar and "50%" in bar


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_ticks_cover_the_whole_book(fresh_sim, link_agent, start_worker):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    total = Contact.objects.filter(owner=alice).count()
    # 1,500 per 10 s at 20 %: 300 per window, 30 per 1 s tick.
    start_worker(SPARK_RATE_LIMIT_REQUESTS="1500", SPARK_RATE_LIMIT_WINDOW_S="10", ACTIVITY_TICK_S="1")

    def covered() -> bool:
        refresh_activity_tick.delay()
        return Contact.objects.filter(owner=alice, trend_7d__isnull=False).count() == total

    wait_for(covered, timeout=60, interval=1.0, message="every contact of alice with a trend")
