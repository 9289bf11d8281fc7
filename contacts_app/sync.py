"""Keeping the store in step with Spark: full and incremental contact syncs, one per agent at a time."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from crm.agents.models import SparkAccount, SyncState
from crm.agents.spark import client_for_account
from crm.agents.sync import (
    CLAIM_TTL,
    WORKER_STOPPED,
    skipped_fields,
    store_batch_or_each,
    store_or_skip,
    sync_state_claim,
    sync_state_release,
)
from crm.spark import SparkError, iter_pages
from crm.spark.errors import SparkAuthError
from crm.spark.records import ContactRecord, ListingRecord, clean_text, parse_int

from .fields import CONTACT_EXPAND
from .models import Contact, ContactActivity, build_search_text

log = logging.getLogger(__name__)

# Re-read a little before a fresh cursor: changes stamped in the same second as the last one seen are not lost.
# Once the cursor is older than CURSOR_SETTLED, that second is complete and is not read again (a bulk import
# stamping thousands of contacts in one second is then not re-read at every beat).
CURSOR_OVERLAP = dt.timedelta(seconds=2)
CURSOR_SETTLED = dt.timedelta(seconds=60)
CONTACT_COLLECTIONS = ("/contacts", "/contacts/unconnected")
@dataclass
class SyncResult:
    ran: bool
    fetched: int = 0
    removed: int = 0
    full: bool = False
    error: str = ""
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (Spark Id, why the store refused it)


def _upsert_contacts(account: SparkAccount, records: list[ContactRecord]) -> int:
    if not records:
        return 0
    now = timezone.now()
    ids = [r.id for r in records]
    # A row with a write on its way to Spark keeps the agent's version until the outbox settles it.
    existing = {spark_id: (pk, state) for spark_id, pk, state in
                Contact.objects.filter(spark_id__in=ids).values_list("spark_id", "pk", "write_state")}
    busy = {spark_id for spark_id, (_, state) in existing.items() if state != Contact.WriteState.SYNCED}
    rows = [
        Contact(
            owner=account,
            spark_id=r.id,
            display_name=r.display_name[:75],
            primary_email=r.primary_email[:75],
            primary_phone=r.primary_phone[:300],
            tags=r.tags,
            record_status=r.record_status if r.record_status in Contact.RecordStatus.values else "Connected",
            score=r.score,
            relative_score=r.relative_score,
            attributes=r.attributes,
            spark_modified_at=r.modified_at,
            spark_created_at=r.created_at,
            synced_at=now,
            search_text=build_search_text(r.display_name, r.primary_email, r.primary_phone),
            created_at=now,
            updated_at=now,
        )
        for r in records
        if r.id not in busy
    ]
    # The upsert locks the rows it updates in the order given: contact pk order, as every other path (outbox.py).
    rows.sort(key=lambda c: existing.get(c.spark_id, (float("inf"),))[0])
    Contact.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["spark_id"],
        update_fields=[
            "owner", "display_name", "primary_email", "primary_phone", "tags", "record_status", "score",
            "relative_score", "attributes", "spark_modified_at", "spark_created_at", "synced_at", "search_text",
            "updated_at",
        ],
    )
    return len(rows)


def contacts_sync(*, account: SparkAccount, full: bool | None = None) -> SyncResult:
    """Bring the agent's contacts (connected and unconnected) into the store.

    A full sync pages through everything and removes what Spark no longer has for the agent; an incremental
    one asks only for contacts modified since the cursor.
    """
    claim = sync_state_claim(account=account, resource="contacts")
    if claim is None:
        return SyncResult(ran=False)
    state, token = claim
    full = full if full is not None else state.cursor is None
    result = SyncResult(ran=True, full=full)
    seen: set[str] = set()
    newest = state.cursor
    started = timezone.now()
    reason = WORKER_STOPPED
    try:
        client = client_for_account(account)
        params: dict[str, str] = {"_expand": CONTACT_EXPAND}
        if not full and state.cursor:
            overlap = CURSOR_OVERLAP if timezone.now() - state.cursor < CURSOR_SETTLED else dt.timedelta(0)
            since = (state.cursor - overlap).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            params["_filter"] = f"ModificationTimestamp Gt {since}"  # SparkQL datetimes are unquoted
        for path in CONTACT_COLLECTIONS:
            for page, raw, pagination in iter_pages(client, path, params=params):
                records = [ContactRecord.from_api(item) for item in raw]
                store_batch_or_each(lambda batch: _upsert_contacts(account, list(batch)), records,
                                    id_of=lambda r: r.id, skipped=result.skipped, what=f"contact of account {account.pk}")
                seen.update(r.id for r in records)
                result.fetched += len(records)
                for r in records:
                    if r.modified_at and (newest is None or r.modified_at > newest):
                        newest = r.modified_at
                if page == 1:
                    state.progress_total += int(pagination.get("TotalRows") or len(records))
                state.progress_done = result.fetched
                SyncState.objects.filter(pk=state.pk, claim_token=token).update(
                    progress_done=state.progress_done, progress_total=state.progress_total,
                    claimed_until=timezone.now() + CLAIM_TTL,
                )
        if full:
            # Deleted or transferred away in Spark since we last looked; rows with writes in flight stay.
            gone = Contact.objects.filter(owner=account, spark_id__isnull=False, synced_at__lt=started,
                                          write_state=Contact.WriteState.SYNCED).exclude(spark_id__in=seen)
            result.removed, _ = gone.delete()
        SyncState.objects.filter(pk=state.pk, claim_token=token).update(
            status=SyncState.Status.IDLE, cursor=newest, last_success_at=timezone.now(), last_error="",
            **skipped_fields(result.skipped), **({"last_full_at": timezone.now()} if full else {}),
        )
        if account.link_status != SparkAccount.LinkStatus.LINKED:
            SparkAccount.objects.filter(pk=account.pk).update(link_status=SparkAccount.LinkStatus.LINKED, link_error="")
    except SparkError as exc:
        result.error = clean_text(exc.agent_message)
        log.warning("contacts sync for account %s failed: %s", account.pk, type(exc).__name__)
        SyncState.objects.filter(pk=state.pk, claim_token=token).update(
            status=SyncState.Status.FAILED, last_error=result.error, last_failed_at=timezone.now(), cursor=newest,
            **skipped_fields(result.skipped),
        )
        if isinstance(exc, SparkAuthError):
            SparkAccount.objects.filter(pk=account.pk).update(
                link_status=SparkAccount.LinkStatus.BROKEN, link_error=result.error
            )
        if exc.retryable:
            raise
    except Exception as exc:
        reason = f"stopped by an unexpected error ({type(exc).__name__})"
        log.exception("contacts sync for account %s stopped by an unexpected error", account.pk)
        raise
    finally:
        sync_state_release(state=state, token=token, reason=reason)
    return result


def contact_refresh(*, contact: Contact) -> None:
    """Re-read one contact from Spark into the store (unless a write to it is still on its way)."""
    from .delivery import _fetch_contact, store_contact_from_spark

    if not contact.spark_id or contact.write_state == Contact.WriteState.PENDING:
        return
    client = client_for_account(contact.owner)
    store_contact_from_spark(contact, _fetch_contact(client, contact.spark_id))


def _trend(daily: list[dict]) -> int | None:
    """Points earned in the last 7 days minus the 7 days before (each day's Score is that day's activity)."""
    scores = [d.get("score") or 0 for d in daily]
    if len(scores) < 14:
        return None
    return sum(scores[-7:]) - sum(scores[-14:-7])


def contact_activity_refresh(*, contact: Contact) -> ContactActivity:
    """Score, the 30-day series, e-mail counts and the listings viewed and shared, from Spark."""
    client = client_for_account(contact.owner)
    activity, _ = ContactActivity.objects.get_or_create(contact=contact)
    try:
        record = ContactRecord.from_api(
            client.request("GET", f"/contacts/{contact.spark_id}", params={"_expand": "Activity"}).results[0]
        )
        summary = client.request("GET", f"/contacts/{contact.spark_id}/activity").results
        summary = summary[0] if summary else {}
        viewed = client.request("GET", f"/contacts/{contact.spark_id}/activity/listings/viewed",
                                params={"_limit": 25}).results
        shared = client.request("GET", f"/contacts/{contact.spark_id}/activity/listings/shared",
                                params={"_limit": 25}).results
    except SparkError as exc:
        activity.last_error = clean_text(exc.agent_message)
        activity.save(update_fields=["last_error"])
        raise
    skipped: list[tuple[str, str]] = []
    stored = store_or_skip(lambda: _activity_store(contact, activity, record, summary, viewed, shared),
                           record_id=contact.spark_id or "", skipped=skipped, what="activity of contact")
    if stored is None:
        ContactActivity.objects.filter(pk=activity.pk).update(
            last_error=f"Spark's activity for this contact could not be stored ({skipped[0][1]})"[:2000])
        activity.refresh_from_db()
    return activity


def _activity_store(contact: Contact, activity: ContactActivity, record: ContactRecord, summary: dict,
                    viewed: list, shared: list) -> ContactActivity:
    activity.daily = [
        {"date": d.date.isoformat() if d.date else None, "score": d.score, "relative_score": d.relative_score}
        for d in record.daily_activity
    ]
    for field_name, key in (
        ("manual_emails_sent", "ManualEmailsSent"), ("manual_emails_opened", "ManualEmailsOpened"),
        ("subscription_emails_sent", "SubscriptionEmailsSent"),
        ("subscription_emails_opened", "SubscriptionEmailsOpened"),
        ("listings_viewed", "ListingsViewed"), ("listings_shared", "ListingsShared"),
    ):
        setattr(activity, field_name, parse_int(summary.get(key)))
    activity.viewed_listings = [_listing_summary(item) for item in viewed]
    activity.shared_listings = [_listing_summary(item) for item in shared]
    activity.fetched_at = timezone.now()
    activity.last_error = ""
    activity.unavailable, activity.retry_at, activity.failures = ContactActivity.Unavailable.NO, None, 0
    activity.fetched_score = record.score
    activity.save()
    Contact.objects.filter(pk=contact.pk).update(
        score=record.score if record.score is not None else contact.score,
        relative_score=record.relative_score if record.relative_score is not None else contact.relative_score,
        trend_7d=_trend(activity.daily), activity_fetched_at=activity.fetched_at,
    )
    return activity


def _listing_summary(item: dict) -> dict:
    listing = ListingRecord.from_api(item)
    street = " ".join(p for p in (listing.street_number, listing.street_name) if p)
    return {
        "id": listing.id, "listing_id": listing.listing_id, "address": street, "city": listing.city,
        "price": int(listing.list_price) if listing.list_price is not None else None, "status": listing.status,
    }


def activity_stale_contacts(*, account: SparkAccount, limit: int, max_age: dt.timedelta) -> list[int]:
    """The agent's most active contacts whose activity figures (and so their 7-day trend) are older than max_age."""
    cutoff = timezone.now() - max_age
    return list(
        Contact.objects.filter(owner=account, spark_id__isnull=False, score__gt=0)
        .filter(Q(activity__isnull=True) | Q(activity__fetched_at__lt=cutoff) | Q(activity__fetched_at__isnull=True))
        .order_by("-score").values_list("pk", flat=True)[:limit]
    )
