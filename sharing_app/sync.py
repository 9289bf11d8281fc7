"""Keeping the sharing cache in step with Spark: listings (one cache for the MLS), and per agent their saved
searches and their shared links. Pages read only the store; these run in Celery."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from contacts_app.models import Contact
from crm.agents.models import SparkAccount, SyncState
from crm.agents.spark import client_for_account
from crm.agents.sync import (
    WORKER_STOPPED,
    skipped_fields,
    store_batch_or_each,
    store_or_skip,
    sync_state_claim,
    sync_state_release,
)
from crm.spark import SparkError, iter_pages
from crm.spark.errors import SparkAuthError
from crm.spark.paging import MAX_PAGE_SIZE
from crm.spark.records import ListingRecord, SavedSearchRecord, SharedLinkRecord, clean_text

from .models import Listing, SavedSearch, SharedLink, listing_search_text

log = logging.getLogger(__name__)

RESOURCE = "sharing"
LISTING_LOCK = "sharing:listings-sync"
LISTING_CURSOR_OVERLAP = dt.timedelta(seconds=2)
LISTING_FIELDS = (
    "ListingKey", "ListingId", "ListPrice", "MlsStatus", "StandardStatus", "PropertyType", "StreetNumber",
    "StreetName", "City", "StateOrProvince", "PostalCode", "BedsTotal", "BathsTotal", "ModificationTimestamp",
)
FULL_LINK_SYNC_EVERY = dt.timedelta(hours=24)


def max_age() -> dt.timedelta:
    """How old the cache may get before opening a sharing page asks for a refresh."""
    return dt.timedelta(seconds=getattr(settings, "SHARING_MAX_AGE_S", 2 * settings.SYNC_INTERVAL_S))


def listing_pages_per_run() -> int:
    """A bound on one run's listing reads: a large MLS fills the cache over several runs, within the rate limit."""
    return int(getattr(settings, "SHARING_LISTING_PAGES_PER_RUN", 40))


@dataclass
class SharingSyncResult:
    ran: bool
    listings: int = 0
    searches: int = 0
    links: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (Spark Id, why the store refused it)


# -- listings -----------------------------------------------------------------------------------------------


def _price(value: float | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _listing_row(record: ListingRecord, now: dt.datetime) -> Listing:
    photo = record.primary_photo
    address = record.address
    return Listing(
        spark_id=record.id, mls_number=record.listing_id[:40], address=address[:300], city=record.city[:100],
        price=_price(record.list_price), beds=record.beds_total, baths=record.baths_total,
        status=record.status[:40], property_type=record.property_type[:40],
        photo_url=(photo.uri_thumb or photo.uri)[:500] if photo else "",
        spark_modified_at=record.modified_at, synced_at=now,
        search_text=listing_search_text(address, record.listing_id, record.status),
        created_at=now, updated_at=now,
    )


def _upsert_listings(records: list[ListingRecord]) -> int:
    now = timezone.now()
    rows = {r.id: _listing_row(r, now) for r in records if r.id}
    Listing.objects.bulk_create(
        list(rows.values()), update_conflicts=True, unique_fields=["spark_id"],
        update_fields=["mls_number", "address", "city", "price", "beds", "baths", "status", "property_type",
                       "photo_url", "spark_modified_at", "synced_at", "search_text", "updated_at"],
    )
    return len(rows)


def listings_sync(*, account: SparkAccount, skipped: list[tuple[str, str]] | None = None) -> int:
    """Listings changed since the newest one cached, oldest change first, a bounded number of pages per run
    (the next run goes on from where this one stopped). One run at a time for the whole MLS."""
    token = uuid.uuid4().hex
    skipped = [] if skipped is None else skipped
    if not cache.add(LISTING_LOCK, token, timeout=600):
        return 0
    try:
        client = client_for_account(account)
        newest = Listing.objects.order_by("-spark_modified_at").values_list("spark_modified_at", flat=True).first()
        params: dict[str, str] = {"_orderby": "ModificationTimestamp", "_expand": "PrimaryPhoto",
                                  "_select": ",".join(LISTING_FIELDS)}
        if newest:
            since = (newest - LISTING_CURSOR_OVERLAP).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            params["_filter"] = f"ModificationTimestamp Gt {since}"
        count = 0
        for n, (_page, raw, _pagination) in enumerate(iter_pages(client, "/listings", params=params), start=1):
            records = [ListingRecord.from_api(item) for item in raw if isinstance(item, dict)]
            before = len(skipped)
            store_batch_or_each(lambda batch: _upsert_listings(list(batch)), records, id_of=lambda r: r.id,
                                skipped=skipped, what="listing")
            count += len({r.id for r in records if r.id}) - (len(skipped) - before)
            if n >= listing_pages_per_run():
                break
        return count
    finally:
        if cache.get(LISTING_LOCK) == token:
            cache.delete(LISTING_LOCK)


# -- saved searches -----------------------------------------------------------------------------------------


def saved_searches_sync(*, account: SparkAccount, client=None, skipped: list[tuple[str, str]] | None = None) -> int:
    """Every saved search of the agent (a handful to a few hundred); those gone from flexmls leave the cache."""
    client = client or client_for_account(account)
    skipped = [] if skipped is None else skipped
    now = timezone.now()
    seen: list[str] = []
    for _page, raw, _pagination in iter_pages(client, "/savedsearches"):
        for item in raw:
            if not isinstance(item, dict):
                continue
            record = SavedSearchRecord.from_api(item)
            if not record.id or record.provided:
                continue
            store_or_skip(lambda record=record: SavedSearch.objects.update_or_create(
                account=account, spark_id=record.id,
                defaults={"name": record.name[:200], "filter": record.filter, "description": record.description,
                          "spark_modified_at": record.modified_at, "synced_at": now},
            ), record_id=record.id, skipped=skipped, what=f"saved search of account {account.pk}")
            seen.append(record.id)
    SavedSearch.objects.filter(account=account).exclude(spark_id__in=seen).delete()
    return len(seen)


# -- shared links -------------------------------------------------------------------------------------------


def _contacts_by_spark_id(account: SparkAccount, spark_ids: list[str]) -> list[Contact]:
    if not spark_ids:
        return []
    return list(Contact.objects.filter(owner=account, spark_id__in=spark_ids))


def shared_link_store(*, account: SparkAccount, record: SharedLinkRecord, link: SharedLink | None = None) -> SharedLink:
    """Take Spark's copy of a link into the store: into `link` (one made here) or the row with its Id."""
    link = link or SharedLink.objects.filter(spark_id=record.id).first() or SharedLink(account=account)
    if link.account_id != account.pk:
        raise ValueError("A shared link of another agent")
    link.spark_id = record.id
    if record.shared_uri:
        link.shared_uri = record.shared_uri[:500]
    if record.saved_search_id or record.listing_ids:
        link.kind = SharedLink.Kind.SEARCH if record.saved_search_id else SharedLink.Kind.LISTINGS
    link.kind = link.kind or SharedLink.Kind.LISTINGS
    if record.listing_ids:
        link.listing_ids = record.listing_ids
    if record.saved_search_id:
        link.search_spark_id = record.saved_search_id
        link.saved_search = SavedSearch.objects.filter(account=account, spark_id=record.saved_search_id).first()
        name = record.saved_search.name if record.saved_search else ""
        link.search_name = (name or (link.saved_search.name if link.saved_search else "") or link.search_name)[:200]
    if record.type in SharedLink.Type.values:
        link.link_type = record.type
    if record.mode:
        link.mode = record.mode[:10]
    if record.created_at:
        link.shared_at = record.created_at
    link.contact_spark_ids = record.contact_ids or link.contact_spark_ids
    link.synced_at = timezone.now()
    link.save()
    link.contacts.set(_contacts_by_spark_id(account, link.contact_spark_ids))
    return link


def shared_links_sync(*, account: SparkAccount, state: SyncState, client=None,
                      skipped: list[tuple[str, str]] | None = None) -> int:
    """Links are never changed or deleted through the API and Spark lists them oldest first, so a run reads only
    the pages past the ones already stored; once a day (or when Spark holds fewer) it reads them all."""
    client = client or client_for_account(account)
    skipped = [] if skipped is None else skipped
    stored = SharedLink.objects.filter(account=account, spark_id__isnull=False).count()
    full = state.last_full_at is None or state.last_full_at < timezone.now() - FULL_LINK_SYNC_EVERY
    start = 1 if full else stored // MAX_PAGE_SIZE + 1
    seen: list[str] = []
    count = 0
    for page, raw, pagination in iter_pages(client, "/sharedlinks", start_page=start):
        total = pagination.get("TotalRows")
        if page == start and not full and isinstance(total, int) and total < stored:
            return shared_links_sync(account=account, state=_mark_full_needed(state), client=client, skipped=skipped)
        for item in raw:
            if isinstance(item, dict):
                record = SharedLinkRecord.from_api(item)
                if record.id:
                    seen.append(record.id)  # one the store refused is still Spark's: its old row stays
                    if store_or_skip(lambda record=record: shared_link_store(account=account, record=record),
                                     record_id=record.id, skipped=skipped,
                                     what=f"shared link of account {account.pk}") is not None:
                        count += 1
    if full:
        # Gone from flexmls (links made here and not yet confirmed have no Id and stay).
        SharedLink.objects.filter(account=account, spark_id__isnull=False).exclude(spark_id__in=seen).delete()
        SyncState.objects.filter(pk=state.pk).update(last_full_at=timezone.now())
    return count


def _mark_full_needed(state: SyncState) -> SyncState:
    state.last_full_at = None
    return state


# -- one agent ----------------------------------------------------------------------------------------------


def sharing_sync(*, account: SparkAccount, listings: bool = True) -> SharingSyncResult:
    """Refresh the agent's sharing cache (and the listings). One run per agent at a time (a claimed row)."""
    claim = sync_state_claim(account=account, resource=RESOURCE)
    if claim is None:
        return SharingSyncResult(ran=False)
    state, token = claim
    result = SharingSyncResult(ran=True)
    reason = WORKER_STOPPED
    try:
        client = client_for_account(account)
        steps = [("searches", lambda: saved_searches_sync(account=account, client=client, skipped=result.skipped)),
                 ("links", lambda: shared_links_sync(account=account, state=state, client=client,
                                                     skipped=result.skipped))]
        if listings:
            steps.insert(0, ("listings", lambda: listings_sync(account=account, skipped=result.skipped)))
        for name, step in steps:
            try:
                setattr(result, name, step())
            except SparkError as exc:
                log.warning("sharing sync (%s) for account %s failed: %s", name, account.pk, type(exc).__name__)
                result.errors.append(clean_text(exc.agent_message))
                if isinstance(exc, SparkAuthError):
                    break
        SyncState.objects.filter(pk=state.pk, claim_token=token).update(
            status=SyncState.Status.FAILED if result.errors else SyncState.Status.IDLE,
            last_error="; ".join(result.errors)[:2000], **skipped_fields(result.skipped),
            **({"last_failed_at": timezone.now()} if result.errors else {"last_success_at": timezone.now()}),
        )
    except Exception as exc:
        reason = f"stopped by an unexpected error ({type(exc).__name__})"
        log.exception("sharing sync for account %s stopped by an unexpected error", account.pk)
        raise
    finally:
        sync_state_release(state=state, token=token, reason=reason)
    return result


def sharing_cache_is_old(*, account: SparkAccount) -> bool:
    state = SyncState.objects.filter(account=account, resource=RESOURCE).first()
    return state is None or state.last_success_at is None or state.last_success_at < timezone.now() - max_age()


def sharing_refresh_if_old(*, account: SparkAccount) -> bool:
    """Opening a sharing page with an old cache queues a refresh (once a minute at most); the page never waits."""
    if not sharing_cache_is_old(account=account):
        return False
    if not cache.add(f"sharing:refresh-asked:{account.pk}", 1, timeout=60):
        return False
    from .tasks import sync_agent_sharing

    transaction.on_commit(lambda: sync_agent_sharing.delay(account.pk))
    return True
