"""Reads: every page reads the store through these, scoped to the agent."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, QuerySet
from django.http import Http404

from .models import Contact, SparkAccount, SyncState

SORTS = {
    "name": ("display_name", "id"),
    "-name": ("-display_name", "-id"),
    "modified": (F("spark_modified_at").asc(nulls_first=True), "id"),
    "-modified": (F("spark_modified_at").desc(nulls_last=True), "-id"),
    "score": (F("score").asc(nulls_first=True), "id"),
    "-score": (F("score").desc(nulls_last=True), "-id"),
}


@dataclass(frozen=True)
class ContactQuery:
    q: str = ""
    sort: str = "name"


def contact_list(*, account: SparkAccount, query: ContactQuery) -> QuerySet[Contact]:
    qs = Contact.objects.filter(owner=account)
    term = query.q.strip().lower()
    if term:
        digits = "".join(ch for ch in term if ch.isdigit())
        if digits and len(digits) >= 3 and not any(ch.isalpha() for ch in term):
            term = digits
        qs = qs.filter(search_text__contains=term)
    return qs.order_by(*SORTS.get(query.sort, SORTS["name"]))


def contact_get_for_agent(*, account: SparkAccount, pk: int) -> Contact:
    """Another agent's contact is a 404, never a 403: its existence is not revealed."""
    try:
        return Contact.objects.get(pk=pk, owner=account)
    except Contact.DoesNotExist:
        raise Http404("No such contact") from None


def account_for_user(user) -> SparkAccount | None:
    return SparkAccount.objects.filter(user=user).first() if user.is_authenticated else None


def sync_state_get(*, account: SparkAccount, resource: str = "contacts") -> SyncState | None:
    return SyncState.objects.filter(account=account, resource=resource).first()
