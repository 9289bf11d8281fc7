"""Keeping the agent's news feeds and schedules in the store, from Spark.

Spark's news feed record does not name its contact, so the contacts are found through the contact form of the
list (`/contacts/<Id>/newsfeeds`) for every contact the agent's saved searches name, and for every contact a feed
was already known to belong to. Rows with a change on its way to Spark (or failed) keep the agent's version."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from itertools import islice

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts_app.models import Contact
from crm.agents.models import SparkAccount, SyncState
from crm.agents.spark import client_for_account
from crm.agents.sync import WORKER_STOPPED, skipped_fields, store_or_skip, sync_state_claim, sync_state_release
from crm.outbox.models import SparkWrite
from crm.spark import SparkError
from crm.spark.errors import SparkNotFound
from crm.spark.records import NewsFeedRecord, SavedSearchRecord, ScheduleRecord, clean_text
from crm.spark.resources import newsfeeds as nf
from crm.spark.resources._common import iter_parsed, seg

from .delivery import store_schedule
from .models import NewsFeed, Schedule

log = logging.getLogger(__name__)

RESOURCE = "newsfeeds"
MAX_CONTACT_LOOKUPS = 500
MAX_CONTACT_FEEDS = 200


@dataclass
class NewsfeedSyncResult:
    ran: bool
    feeds: int = 0
    schedules: int = 0
    removed: int = 0
    error: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (Spark Id, why the store refused it)


def _busy(qs):
    """Rows whose last change is still on its way or failed: the agent's version stays until it settles."""
    return qs.filter(last_write__status__in=[*SparkWrite.OPEN, SparkWrite.Status.FAILED])


def _contact_map(client, account: SparkAccount) -> dict[str, str]:
    """feed Spark Id -> contact Spark Id."""
    candidates: list[str] = []
    for search in iter_parsed(client, "/savedsearches", SavedSearchRecord.from_api):
        candidates.extend(search.contact_ids)
    candidates.extend(NewsFeed.objects.filter(account=account).exclude(contact_spark_id="")
                      .values_list("contact_spark_id", flat=True))
    out: dict[str, str] = {}
    for contact_id in list(dict.fromkeys(candidates))[:MAX_CONTACT_LOOKUPS]:
        try:
            for feed in iter_parsed(client, f"/contacts/{seg(contact_id)}/newsfeeds", NewsFeedRecord.from_api):
                out[feed.id] = contact_id
        except SparkNotFound:
            continue  # the contact is gone, or no longer the agent's
    return out


def _store_schedule(account: SparkAccount, feed: NewsFeed | None, records: list[ScheduleRecord]) -> int:
    rows = Schedule.objects.filter(account=account)
    rows = rows.filter(feed=feed) if feed is not None else rows.filter(feed__isnull=True)
    if _busy(rows).exists():
        return 0
    row = rows.first()
    if not records:
        if row is not None:
            row.delete()
        return 0
    store_schedule(row or Schedule(account=account, feed=feed), records[0])
    return 1


def _store_feed(account: SparkAccount, record: NewsFeedRecord, contact_spark_id: str, contact_pk: int | None,
                schedules: list[ScheduleRecord], now) -> int:
    feed, _ = NewsFeed.objects.update_or_create(
        spark_id=record.id,
        defaults={
            "account": account, "name": record.name[:200],
            "contact_id": contact_pk, "contact_spark_id": contact_spark_id,
            "subscription_id": record.subscription.id if record.subscription else "",
            "subscription_name": (record.subscription.name if record.subscription else "")[:200],
            "active": record.active, "notifications_active": record.notifications_active,
            "expires_on": record.expires_on, "last_event_at": record.last_event_at, "fetched_at": now,
        },
    )
    return _store_schedule(account, feed, schedules)


def newsfeeds_sync(*, account: SparkAccount) -> NewsfeedSyncResult:
    """Every feed of the agent with its contact and own schedule, and the agent's default schedule."""
    claim = sync_state_claim(account=account, resource=RESOURCE)
    if claim is None:
        return NewsfeedSyncResult(ran=False)
    state, token = claim
    result = NewsfeedSyncResult(ran=True)
    reason = WORKER_STOPPED
    try:
        client = client_for_account(account)
        feeds = list(iter_parsed(client, "/newsfeeds", NewsFeedRecord.from_api))
        contacts_of = _contact_map(client, account)
        known_contacts = dict(Contact.objects.filter(owner=account, spark_id__in=set(contacts_of.values()))
                              .values_list("spark_id", "pk"))
        now = timezone.now()
        seen: list[str] = []
        for record in feeds:
            contact_spark_id = contacts_of.get(record.id, "")
            schedules = nf.feed_schedule_list(client, record.id, contact_id=contact_spark_id or None)

            def store(record=record, contact_spark_id=contact_spark_id, schedules=schedules) -> int:
                return _store_feed(account, record, contact_spark_id, known_contacts.get(contact_spark_id),
                                   schedules, now)

            stored = store_or_skip(store, record_id=record.id, skipped=result.skipped,
                                   what=f"news feed of account {account.pk}")
            seen.append(record.id)  # a feed the store refused is still Spark's: its old row stays
            if stored is not None:
                result.schedules += stored
                result.feeds += 1
        defaults = nf.default_schedule_list(client)
        result.schedules += store_or_skip(lambda: _store_schedule(account, None, defaults), record_id="default schedule",
                                          skipped=result.skipped, what=f"news feeds of account {account.pk}:") or 0
        with transaction.atomic():
            gone = NewsFeed.objects.filter(account=account).exclude(spark_id__in=seen).exclude(
                Q(schedule__last_write__status__in=SparkWrite.OPEN))
            result.removed, _ = gone.delete()
        SyncState.objects.filter(pk=state.pk, claim_token=token).update(
            status=SyncState.Status.IDLE, last_success_at=timezone.now(), last_full_at=timezone.now(), last_error="",
            **skipped_fields(result.skipped),
        )
    except SparkError as exc:
        result.error = clean_text(exc.agent_message)
        log.warning("news feed sync for account %s failed: %s", account.pk, type(exc).__name__)
        SyncState.objects.filter(pk=state.pk, claim_token=token).update(
            status=SyncState.Status.FAILED, last_error=result.error, last_failed_at=timezone.now(),
            **skipped_fields(result.skipped))
    except Exception as exc:
        reason = f"stopped by an unexpected error ({type(exc).__name__})"
        log.exception("news feed sync for account %s stopped by an unexpected error", account.pk)
        raise
    finally:
        sync_state_release(state=state, token=token, reason=reason)
    return result


def contact_newsfeeds_forget(*, account_id: int, spark_id: str) -> int:
    """A contact flexmls deleted (a merge's other): its feeds went with it. Rows with a change on its way stay until
    it settles. No call to Spark."""
    gone = NewsFeed.objects.filter(account_id=account_id, contact_spark_id=spark_id)
    removed, _ = gone.exclude(Q(schedule__last_write__status__in=SparkWrite.OPEN)).delete()
    return removed


def contact_newsfeeds_refresh(*, account: SparkAccount, contact_spark_id: str, gone_spark_id: str = "") -> int:
    """One contact's feeds and their schedules, read through the contact form of the list (a few requests, not the
    book): after a merge that carried feeds over, the survivor's; the merged-away contact's (`gone_spark_id`) are
    dropped. Returns the feeds stored."""
    now = timezone.now()
    if gone_spark_id:
        contact_newsfeeds_forget(account_id=account.pk, spark_id=gone_spark_id)
    client = client_for_account(account)
    try:
        records = list(islice(iter_parsed(client, f"/contacts/{seg(contact_spark_id)}/newsfeeds",
                                          NewsFeedRecord.from_api), MAX_CONTACT_FEEDS))
    except SparkNotFound:
        return 0
    contact_pk = Contact.objects.filter(owner=account, spark_id=contact_spark_id).values_list("pk", flat=True).first()
    stored = 0
    for record in records:
        schedules = nf.feed_schedule_list(client, record.id, contact_id=contact_spark_id)
        skipped: list[tuple[str, str]] = []
        if store_or_skip(lambda r=record, s=schedules: _store_feed(account, r, contact_spark_id, contact_pk, s, now),
                         record_id=record.id, skipped=skipped, what=f"news feed of account {account.pk}") is not None:
            stored += 1
    return stored


MAX_AGE = dt.timedelta(minutes=5)


_UNREAD = object()


def newsfeeds_stale(*, account: SparkAccount, last_success_at=_UNREAD) -> bool:
    """`last_success_at`: the news feeds sync's, when the caller has already read it (None: never synced)."""
    if last_success_at is _UNREAD:
        state = SyncState.objects.filter(account=account, resource=RESOURCE).first()
        last_success_at = state.last_success_at if state else None
    return last_success_at is None or timezone.now() - last_success_at > MAX_AGE


def newsfeeds_refresh_if_stale(*, account: SparkAccount, last_success_at=_UNREAD) -> bool:
    """Queue a sync when the store is older than a few minutes (pages never wait for it). True if queued."""
    if not newsfeeds_stale(account=account, last_success_at=last_success_at):
        return False
    if not cache.add(f"newsfeeds-sync-queued:{account.pk}", 1, 60):
        return False  # queued a moment ago, or running
    from .tasks import sync_agent_newsfeeds

    sync_agent_newsfeeds.delay(account.pk)
    return True
