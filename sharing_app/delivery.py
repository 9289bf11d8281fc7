"""The outbox handler for SHARED_LINK_CREATE (registered in SharingAppConfig.ready()).

Spark has no idempotency keys and a link is never deleted through the API, so a second POST after an unknown
outcome (a timeout, a worker killed mid-request) would leave a second link. Before posting again the handler looks
for a link with the same listings or search, the same contacts and type, made since the write was, and adopts it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from crm.outbox.models import SparkWrite
from crm.outbox.registry import Permanent
from crm.spark import SparkClient
from crm.spark.records import SharedLinkRecord
from crm.spark.resources.sharedlinks import (
    shared_link_create_for_listings,
    shared_link_create_for_search,
    shared_link_get,
    shared_link_list,
)

from .models import MAX_LISTINGS, SharedLink
from .sync import shared_link_store

# Our clock and Spark's may disagree a little; a link made this long before the write was is not ours.
CLOCK_SLACK = dt.timedelta(minutes=5)


def _matches(record: SharedLinkRecord, payload: dict) -> bool:
    if payload["kind"] == SharedLink.Kind.SEARCH:
        if record.saved_search_id != payload["search_id"] or record.listing_ids:
            return False
    elif set(record.listing_ids) != set(payload["listing_ids"]) or record.saved_search_id:
        return False
    if set(record.contact_ids) != set(payload.get("contact_ids") or []):
        return False
    return not (record.type and payload.get("type") and record.type != payload["type"])


def find_landed_link(client: SparkClient, write: SparkWrite) -> SharedLinkRecord | None:
    """The link an earlier attempt of this write made, if Spark has it: newest pages first (Spark lists links
    oldest first), back to the time the write was made."""
    cutoff = write.created_at - CLOCK_SLACK
    taken = set(SharedLink.objects.filter(spark_id__isnull=False, write__isnull=False)
                .exclude(write=write).values_list("spark_id", flat=True))
    first = shared_link_list(client, page=1)
    last = first.total_pages or 1
    for number in range(last, 0, -1):
        page = first if number == 1 else shared_link_list(client, page=number)
        older_seen = False
        for record in reversed(page.items):
            if record.created_at is not None and record.created_at < cutoff:
                older_seen = True
                continue
            if record.id not in taken and _matches(record, write.payload):
                return record
        if older_seen:
            return None
    return None


def _adopt(link: SharedLink, spark_id: str) -> None:
    """Give the link its Spark Id; a copy the sync may already have stored under that Id (without a write) goes."""
    with transaction.atomic():
        SharedLink.objects.filter(spark_id=spark_id, write__isnull=True).exclude(pk=link.pk).delete()
        SharedLink.objects.filter(pk=link.pk).update(spark_id=spark_id)
    link.spark_id = spark_id


def deliver_shared_link_create(client: SparkClient, write: SparkWrite) -> None:
    p = write.payload
    link = SharedLink.objects.filter(pk=p.get("link_id"), account=write.account).first()
    if link is None:
        raise Permanent("The link was removed here before it was sent.")
    if not link.spark_id:
        landed = find_landed_link(client, write) if write.attempts > 1 else None
        if landed is not None:
            _adopt(link, landed.id)
        else:
            options = {"contact_ids": p.get("contact_ids") or None, "type": p.get("type") or None,
                       "mode": p.get("mode") or None}
            if p["kind"] == SharedLink.Kind.SEARCH:
                spark_id = shared_link_create_for_search(client, p["search_id"], **options)
            else:
                if len(p["listing_ids"]) > MAX_LISTINGS:
                    raise Permanent(f"A shared link holds at most {MAX_LISTINGS} listings.")
                spark_id = shared_link_create_for_listings(client, p["listing_ids"], **options)
            _adopt(link, spark_id)  # kept at once: whatever follows, the link is never posted twice
    # Spark's copy: SharedUri, Mode (Spark decides it for Direct links), Type, CreatedTimestamp.
    record = shared_link_get(client, link.spark_id)
    with transaction.atomic():
        shared_link_store(account=write.account, record=record, link=SharedLink.objects.get(pk=link.pk))
