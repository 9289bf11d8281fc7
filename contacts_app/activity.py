"""The activity refresher: a 30-day series (and so a 7-day trend) for every contact of every linked agent.

`DailyActivity` comes only on a single-record read, so covering a book costs one request per contact. The refresher
spends a share of each Spark key's rate budget on it (ACTIVITY_BUDGET_SHARE): every tick (ACTIVITY_TICK_S) it reads
the due contacts of the agents on each key, most valuable first, through the limiter's background lane. That lane
takes a slot only while the whole window's usage is below the share and never waits for one, so an agent's own
clicks and writes never queue behind the refresher; when agents are busy, it simply reads nothing. It also steps
aside (reads nothing more this tick) while an agent on the key has outbox writes due, and its ticks run on a
Celery queue and worker of their own (crm/celery.py), so writes never wait for a worker process either.

Which contacts are due, in this order, and by score (then most recently changed) within each:
1. the Score moved since the series was read (the contact is rising or falling now);
2. the series was never read;
3. the series is older than ACTIVITY_REFRESH_S (oldest first after score).
A contact whose activity Spark refuses (404 gone or not the agent's, 403 the role may not read it) is recorded as
such on its ContactActivity and not asked again before `retry_at` (ACTIVITY_RETRY_S, doubling up to 7 times that).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.agents.spark import client_for_account
from crm.outbox.models import SparkWrite
from crm.spark.errors import SparkAuthError, SparkError, SparkForbidden, SparkNotFound, SparkRateLimited
from crm.spark.ratelimit import BackgroundBudgetSpent, BackgroundLane
from crm.spark.records import ContactRecord, clean_text

from .models import Contact, ContactActivity
from .sync import _trend

log = logging.getLogger(__name__)

LOCK_KEY = "activity-refresher:running"
ROTATION_KEY = "activity-refresher:rotation"
MAX_BACKOFF_FACTOR = 7
# A contact whose read failed for a passing reason (5xx, timeout) waits this long, doubling, before the next try.
TRANSIENT_RETRY_S = 60
# While reading, whether the agents' writes became due is asked again every this many reads.
WRITES_CHECK_EVERY = 3


@dataclass
class TickResult:
    ran: bool = True
    read: int = 0
    unavailable: int = 0
    failed: int = 0
    keys: int = 0
    stopped: dict[str, str] = field(default_factory=dict)  # rate key name -> why its batch ended early


def per_tick_allowance(*, requests: int | None = None, window_s: float | None = None,
                       share: float | None = None, tick_s: float | None = None) -> int:
    """Reads one tick may make on one key: the share of the limit spread evenly over the window, so the refresher
    runs at a steady pace instead of spending a window's share in one burst."""
    requests = requests or settings.SPARK_RATE_LIMIT_REQUESTS
    window_s = window_s or settings.SPARK_RATE_LIMIT_WINDOW_S
    share = settings.ACTIVITY_BUDGET_SHARE if share is None else share
    tick_s = tick_s or settings.ACTIVITY_TICK_S
    if share <= 0:
        return 0
    return max(1, math.ceil(requests * share * tick_s / window_s))


def activity_due_contacts(*, account: SparkAccount, limit: int, now: dt.datetime | None = None) -> list[Contact]:
    """The agent's contacts whose series should be read next, most valuable first (see the module's docstring)."""
    now = now or timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.ACTIVITY_REFRESH_S)
    # A moved Score makes a series due again, but not sooner than a contact page would re-read it.
    moved_before = now - dt.timedelta(seconds=settings.ACTIVITY_MAX_AGE_S)
    moved = (Q(activity__fetched_score__isnull=False) & Q(score__isnull=False)
             & ~Q(score=F("activity__fetched_score")) & Q(activity_fetched_at__lt=moved_before))
    never = Q(activity_fetched_at__isnull=True)
    stale = Q(activity_fetched_at__lt=stale_before)
    return list(
        Contact.objects.filter(owner=account, spark_id__isnull=False, pending_delete=False)
        .filter(Q(activity__isnull=True) | Q(activity__retry_at__isnull=True) | Q(activity__retry_at__lte=now))
        .filter(moved | never | stale)
        .annotate(due_tier=Case(When(moved, then=Value(0)), When(never, then=Value(1)), default=Value(2),
                                output_field=IntegerField()))
        .order_by("due_tier", F("score").desc(nulls_last=True), F("activity_fetched_at").asc(nulls_first=True),
                  F("spark_modified_at").desc(nulls_last=True), "id")
        .select_related("owner")[:limit]
    )


def activity_series_store(*, contact: Contact, record: ContactRecord) -> None:
    """Keep the series, Score and trend of one read (the counts and listings stay the contact page's to read)."""
    now = timezone.now()
    daily = [{"date": d.date.isoformat() if d.date else None, "score": d.score, "relative_score": d.relative_score}
             for d in record.daily_activity]
    ContactActivity.objects.update_or_create(
        contact=contact,
        defaults={"daily": daily, "fetched_score": record.score, "unavailable": ContactActivity.Unavailable.NO,
                  "retry_at": None, "failures": 0, "last_error": ""},
    )
    Contact.objects.filter(pk=contact.pk).update(
        score=record.score if record.score is not None else contact.score,
        relative_score=record.relative_score if record.relative_score is not None else contact.relative_score,
        trend_7d=_trend(daily), activity_fetched_at=now,
    )


def activity_unavailable_record(*, contact: Contact, exc: SparkError) -> ContactActivity:
    """Spark refused this contact's activity: say why, and back off so it is not asked again in a loop."""
    if isinstance(exc, SparkNotFound):
        reason = ContactActivity.Unavailable.NOT_FOUND
    elif isinstance(exc, SparkForbidden):
        reason = ContactActivity.Unavailable.FORBIDDEN
    else:
        reason = ContactActivity.Unavailable.ERROR
    activity, _ = ContactActivity.objects.get_or_create(contact=contact)
    activity.failures = min(activity.failures + 1, 1000)
    factor = min(2 ** (activity.failures - 1), MAX_BACKOFF_FACTOR)
    activity.retry_at = timezone.now() + dt.timedelta(seconds=settings.ACTIVITY_RETRY_S * factor)
    activity.unavailable = reason
    activity.last_error = clean_text(exc.agent_message)[:2000]
    activity.save(update_fields=["failures", "retry_at", "unavailable", "last_error"])
    return activity


def _transient_failure(*, contact: Contact, exc: SparkError) -> None:
    """A passing failure (5xx, timeout, a 429 from Spark): try this contact again soon, not at every tick."""
    activity, _ = ContactActivity.objects.get_or_create(contact=contact)
    activity.failures = min(activity.failures + 1, 1000)
    delay = min(TRANSIENT_RETRY_S * 2 ** (activity.failures - 1), settings.ACTIVITY_RETRY_S)
    activity.retry_at = timezone.now() + dt.timedelta(seconds=delay)
    activity.last_error = clean_text(exc.agent_message)[:2000]
    activity.save(update_fields=["failures", "retry_at", "last_error"])


def writes_due(account_ids: list[int]) -> bool:
    """Has one of these agents outbox writes being sent or due to be (the agents' own work, which goes first)?"""
    now = timezone.now()
    return SparkWrite.objects.filter(account_id__in=account_ids).filter(
        Q(status=SparkWrite.Status.IN_FLIGHT)
        | Q(status=SparkWrite.Status.QUEUED) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    ).exists()


def _budget_spent(exc: SparkError) -> bool:
    return isinstance(exc, SparkRateLimited) and isinstance(exc.__cause__, BackgroundBudgetSpent)


def _background_client(account: SparkAccount):
    """The agent's client with its key's limiter swapped for the background lane; (client, key name)."""
    client = client_for_account(account, max_retries=0)
    limiter = client.rate_limiter
    if limiter is None:  # no shared limiter configured: the per-tick allowance alone paces the refresher
        return client, f"unlimited:{account.pk}"
    client.rate_limiter = BackgroundLane(limiter, settings.ACTIVITY_BUDGET_SHARE)
    return client, limiter.name


def activity_refresh_tick(*, deadline_s: float | None = None) -> TickResult:
    """One round of the refresher over every linked agent; one round at a time across all workers."""
    share = settings.ACTIVITY_BUDGET_SHARE
    if share <= 0:
        return TickResult(ran=False)
    tick_s = settings.ACTIVITY_TICK_S
    token = uuid.uuid4().hex
    if not cache.add(LOCK_KEY, token, timeout=max(5, int(tick_s * 6))):
        return TickResult(ran=False)
    try:
        return _tick(deadline=time.monotonic() + (deadline_s if deadline_s is not None else max(1.0, tick_s * 3)))
    finally:
        if cache.get(LOCK_KEY) == token:
            cache.delete(LOCK_KEY)


def _tick(*, deadline: float) -> TickResult:
    result = TickResult()
    groups: dict[str, list[tuple[SparkAccount, object]]] = {}
    for account in SparkAccount.objects.filter(link_status=SparkAccount.LinkStatus.LINKED).order_by("pk"):
        try:
            client, key = _background_client(account)
        except Exception:  # a link that cannot make a client (no credentials) is the sync's to report
            log.warning("activity refresher: no client for account %s", account.pk, exc_info=True)
            continue
        groups.setdefault(key, []).append((account, client))
    result.keys = len(groups)
    try:
        rotation = cache.incr(ROTATION_KEY)
    except ValueError:
        cache.set(ROTATION_KEY, 0, timeout=None)
        rotation = 0
    for key, members in groups.items():
        why = _refresh_key(members, rotation=rotation, deadline=deadline, result=result)
        if why:
            result.stopped[key] = why
    return result


def _refresh_key(members: list[tuple[SparkAccount, object]], *, rotation: int, deadline: float,
                 result: TickResult) -> str:
    """Read up to the tick's allowance on one key, the agents on it taking turns. Returns why it stopped early."""
    client0 = members[0][1]
    lane = client0.rate_limiter
    if isinstance(lane, BackgroundLane):
        allowance = per_tick_allowance(requests=lane.requests, window_s=lane.window_s)
        if not lane.has_room():
            return "budget in use"
    else:
        allowance = per_tick_allowance()
    account_ids = [account.pk for account, _ in members]
    if writes_due(account_ids):
        return "writes due"
    start = rotation % len(members)
    members = members[start:] + members[:start]
    queues = [(account, client, activity_due_contacts(account=account, limit=allowance))
              for account, client in members]
    queues = [q for q in queues if q[2]]
    spent = 0
    while queues and spent < allowance:
        for account, client, due in list(queues):
            if spent >= allowance:
                break
            if time.monotonic() > deadline:
                return "tick time used"
            if spent and spent % WRITES_CHECK_EVERY == 0 and writes_due(account_ids):
                return "writes due"
            contact = due.pop(0)
            if not due:
                queues.remove((account, client, due))
            try:
                raw = client.request("GET", f"/contacts/{contact.spark_id}", params={"_expand": "Activity"})
            except SparkError as exc:
                if _budget_spent(exc):
                    return "budget in use"
                spent += 1
                if isinstance(exc, SparkAuthError):
                    # The agent's link is the sync's to mark broken; skip the agent for this tick.
                    queues = [q for q in queues if q[0].pk != account.pk]
                    result.failed += 1
                    continue
                if exc.retryable:
                    _transient_failure(contact=contact, exc=exc)
                    result.failed += 1
                    return f"Spark failing ({type(exc).__name__})"
                activity_unavailable_record(contact=contact, exc=exc)
                result.unavailable += 1
                continue
            spent += 1
            if not raw.results:
                continue
            activity_series_store(contact=contact, record=ContactRecord.from_api(raw.results[0]))
            result.read += 1
    return ""


def activity_coverage(*, account: SparkAccount) -> dict[str, int]:
    """How much of the agent's book has a trend, and how much of it is fresh (for the broker view and benchmarks)."""
    fresh_after = timezone.now() - dt.timedelta(seconds=settings.ACTIVITY_REFRESH_S)
    qs = Contact.objects.filter(owner=account, spark_id__isnull=False, pending_delete=False)
    return {
        "total": qs.count(),
        "with_trend": qs.filter(trend_7d__isnull=False).count(),
        "fresh": qs.filter(activity_fetched_at__gte=fresh_after).count(),
        "unavailable": qs.exclude(activity__unavailable="").filter(activity__isnull=False).count(),
    }
