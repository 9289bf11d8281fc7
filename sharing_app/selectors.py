"""Reads: every sharing page reads the store through these, scoped to the agent."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404

from contacts_app.models import Contact
from crm.agents.models import SparkAccount

from .models import Listing, SavedSearch, SharedLink

LISTING_STATUSES = ("Active", "Pending", "Closed")
PICKER_PAGE = 50


@dataclass(frozen=True)
class ListingQuery:
    q: str = ""
    status: str = ""
    min_price: int | None = None
    max_price: int | None = None
    min_beds: int | None = None

    @classmethod
    def from_params(cls, params) -> ListingQuery:
        def number(name: str) -> int | None:
            raw = str(params.get(name, "") or "").replace(",", "").replace("$", "").strip()
            return int(raw) if raw.isdigit() and len(raw) < 12 else None

        status = params.get("status", "")
        return cls(q=str(params.get("q", ""))[:200].strip(), status=status if status in LISTING_STATUSES else "",
                   min_price=number("min_price"), max_price=number("max_price"), min_beds=number("min_beds"))


def listing_search(*, query: ListingQuery, exclude: list[str] | None = None) -> QuerySet[Listing]:
    qs = Listing.objects.all()
    for word in query.q.lower().split()[:6]:
        qs = qs.filter(search_text__contains=word)
    if query.status:
        qs = qs.filter(status=query.status)
    if query.min_price is not None:
        qs = qs.filter(price__gte=query.min_price)
    if query.max_price is not None:
        qs = qs.filter(price__lte=query.max_price)
    if query.min_beds is not None:
        qs = qs.filter(beds__gte=query.min_beds)
    if exclude:
        qs = qs.exclude(spark_id__in=exclude)
    return qs.order_by(F("spark_modified_at").desc(nulls_last=True), "id")


def listings_by_ids(ids: list[str]) -> list[Listing]:
    """The cached listings for these Ids, in the given order (an Id not cached yet is left out)."""
    found = {x.spark_id: x for x in Listing.objects.filter(spark_id__in=ids)}
    return [found[i] for i in ids if i in found]


def saved_search_list(*, account: SparkAccount) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(account=account).order_by("name", "id")


def saved_search_get_for_agent(*, account: SparkAccount, pk) -> SavedSearch:
    try:
        return SavedSearch.objects.get(pk=pk, account=account)
    except (SavedSearch.DoesNotExist, ValueError, TypeError):
        raise Http404("No such saved search") from None


def contact_search(*, account: SparkAccount, q: str, exclude: list[int] | None = None, limit: int = 15):
    term = q.strip().lower()[:200]
    if not term:
        return Contact.objects.none()
    qs = Contact.objects.filter(owner=account, pending_delete=False, search_text__contains=term)
    if exclude:
        qs = qs.exclude(pk__in=exclude)
    return qs.order_by("display_name", "id")[:limit]


def contacts_for_agent(*, account: SparkAccount, pks: list[int]) -> list[Contact]:
    """The agent's own contacts among `pks` (others' are silently left out: their existence is not revealed)."""
    found = {c.pk: c for c in Contact.objects.filter(owner=account, pending_delete=False, pk__in=pks)}
    return [found[pk] for pk in dict.fromkeys(pks) if pk in found]


def shared_link_list(*, account: SparkAccount, contact: Contact | None = None) -> QuerySet[SharedLink]:
    qs = SharedLink.objects.filter(account=account)
    if contact is not None:
        qs = qs.filter(contacts=contact)
    return (qs.select_related("write", "saved_search").prefetch_related("contacts")
            .order_by(Coalesce("shared_at", "created_at").desc(), "-id"))


def shared_link_get_for_agent(*, account: SparkAccount, pk) -> SharedLink:
    """Another agent's link is a 404, never a 403."""
    try:
        return SharedLink.objects.select_related("write", "saved_search").get(pk=pk, account=account)
    except (SharedLink.DoesNotExist, ValueError, TypeError):
        raise Http404("No such shared link") from None


def link_contacts_choices(*, account: SparkAccount) -> QuerySet[Contact]:
    """The contacts the agent has shared links with (the list's filter)."""
    return Contact.objects.filter(owner=account, shared_links__account=account).distinct().order_by("display_name")
