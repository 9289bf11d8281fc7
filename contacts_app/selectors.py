"""Reads: every page reads the store through these, scoped to the agent."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import BooleanField, Case, F, Q, QuerySet, When
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from crm.agents.models import SparkAccount, SyncState
from crm.outbox.models import AuditEvent, SparkWrite
from crm.safeinput import storable_text

from .duplicates import email_key
from .models import LIST_ROWS, Contact
from .selectors_writes import (  # noqa: F401 - re-exported: other apps and older callers read them from here
    HistoryRow,
    bulk_job_get_for_agent,
    contact_gone_note,
    contact_history,
    contact_writes,
    failed_writes,
    write_get_for_agent,
)

# Each sort is the exact reverse or the exact order of one index on Contact (see Contact.Meta.indexes).
SORTS = {
    "name": ("display_name", "id"),
    "-name": ("-display_name", "-id"),
    "-modified": (F("spark_modified_at").desc(nulls_last=True), "-id"),
    "modified": (F("spark_modified_at").asc(nulls_first=True), "id"),
    "-score": (F("score").desc(nulls_last=True), "-id"),
    "score": (F("score").asc(nulls_first=True), "id"),
    "-relative": (F("relative_score").desc(nulls_last=True), "-id"),
    "-trend": (F("trend_7d").desc(nulls_last=True), "-id"),
    # Contacts with no activity series (no trend yet) come last in both trend sorts, never first.
    "trend": (F("trend_7d").asc(nulls_last=True), "id"),
}
SORT_LABELS = {
    "name": "Name A–Z", "-name": "Name Z–A", "-score": "Score, highest first", "score": "Score, lowest first",
    "-relative": "Relative score", "-trend": "Rising this week", "trend": "Falling this week",
    "-modified": "Recently modified",
}
BANDS = {
    "hot": ("Hot (top third)", Q(relative_score__gte=0.66)),
    "warm": ("Warm", Q(relative_score__gte=0.33, relative_score__lt=0.66)),
    "cool": ("Cool", Q(relative_score__gt=0, relative_score__lt=0.33)),
    "none": ("No activity", Q(score__isnull=True) | Q(score=0)),
}
STATUSES = {"connected": "Connected", "unconnected": "Unconnected"}


@dataclass(frozen=True)
class ContactQuery:
    q: str = ""
    tag: str = ""
    status: str = ""
    band: str = ""
    sort: str = "name"

    @classmethod
    def from_params(cls, params) -> ContactQuery:
        query = cls(
            # Cleaned here too: bulk actions decode a query string of their own, which the middleware never sees.
            q=storable_text(params.get("q", ""))[:200], tag=storable_text(params.get("tag", ""))[:1000],
            status=params.get("status", ""),
            band=params.get("band", ""), sort=params.get("sort", "name"),
        )
        if query.sort not in SORTS:
            query = replace(query, sort="name")
        if query.status not in STATUSES:
            query = replace(query, status="")
        if query.band not in BANDS:
            query = replace(query, band="")
        return query

    def as_params(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v and not (k == "sort" and v == "name")}


# What a list row shows; the rest (`attributes`, `search_text`, timestamps) stays in the database.
ROW_FIELDS = ("id", "owner_id", "spark_id", "display_name", "primary_email", "primary_phone", "tags", "record_status",
              "score", "relative_score", "trend_7d", "activity_fetched_at", "write_state", "pending_delete")


def contact_rows(*, account: SparkAccount, query: ContactQuery) -> DeferredJoinRows:
    """`contact_list` with only the columns a list row shows, paged by a deferred join."""
    return DeferredJoinRows(contact_list(account=account, query=query).only(*ROW_FIELDS))


class DeferredJoinRows:
    """A sorted queryset that a paginator slices: a deep page (DEEP_OFFSET rows in or more) first finds its 50 ids
    with only the sort index (an index-only scan skipping thousands of entries, see Contact.Meta.indexes), then
    reads those 50 rows, instead of reading every row it skips."""

    DEEP_OFFSET = 500

    def __init__(self, queryset: QuerySet[Contact]) -> None:
        self.queryset = queryset
        self.ordered = queryset.ordered

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice) or (item.start or 0) < self.DEEP_OFFSET:
            return self.queryset[item]
        ids = self.queryset.order_by(*self.queryset.query.order_by).values("pk")[item]
        return self.queryset.model.objects.filter(pk__in=ids).only(*self.queryset.query.deferred_loading[0]) \
            .order_by(*self.queryset.query.order_by)


def contact_list_count(*, account: SparkAccount, query: ContactQuery) -> int | None:
    """The list's total without counting rows when no filter narrows it (the triggers' ContactCount); None when a
    filter does (the paginator counts those)."""
    if query.q.strip() or query.tag or query.status or query.band:
        return None
    return agent_overview(account=account).live_count


class CountedPaginator(Paginator):
    """A paginator told its total (`count`) rather than asking COUNT(*) of the query."""

    def __init__(self, object_list, per_page, *, count: int | None = None, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        if count is not None:
            self.__dict__["count"] = count  # Paginator.count is a cached_property


def contact_rows_with_states(contacts) -> list[Contact]:
    """The rows of a page with what their refused rows show (the latest refusal, whether another change still
    waits), read in one query for the whole page instead of one or two per refused row."""
    contacts = list(contacts)
    failed = [c for c in contacts if c.write_state == Contact.WriteState.FAILED]
    if failed:
        by_contact: dict[int, list[SparkWrite]] = {}
        for write in (SparkWrite.objects.filter(contact__in=[c.pk for c in failed],
                                                status__in=[SparkWrite.Status.FAILED, *SparkWrite.OPEN])
                      .order_by("-id")):
            by_contact.setdefault(write.contact_id, []).append(write)
        for c in failed:
            writes = by_contact.get(c.pk, [])
            c.row_states = {
                "waiting": any(w.status in SparkWrite.OPEN for w in writes),
                "refusal": next((w for w in writes if w.status == SparkWrite.Status.FAILED), None),
            }
    return contacts


def contact_list(*, account: SparkAccount, query: ContactQuery) -> QuerySet[Contact]:
    # A contact whose create Spark refused exists only here: it waits in Needs attention, out of the list and of
    # every "all matching" bulk action.
    qs = Contact.objects.filter(LIST_ROWS, owner=account)
    term = query.q.strip().lower()
    if term:
        digits = "".join(ch for ch in term if ch.isdigit())
        if len(digits) >= 3 and not any(ch.isalpha() for ch in term):
            term = digits
        qs = qs.filter(search_text__contains=term)
    if query.tag:
        qs = qs.filter(tags__contains=[query.tag])
    if query.status:
        qs = qs.filter(record_status=STATUSES[query.status])
    if query.band:
        qs = qs.filter(BANDS[query.band][1])
    return qs.order_by(*SORTS[query.sort])


def contact_get_for_agent(*, account: SparkAccount, pk: int) -> Contact:
    """Another agent's contact is a 404, never a 403: its existence is not revealed."""
    try:
        contact = Contact.objects.get(pk=pk, owner=account)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise Http404("No such contact") from None
    contact.owner = account  # the request's own account: no second read of it
    return contact


def _exists(sql: str) -> RawSQL:
    """An EXISTS about the contact row (`contacts_app_contact.id`), in SQL: a fraction of what the ORM's Exists()
    costs to compile, on a page that asks three of them."""
    return RawSQL(f"EXISTS ({sql})", [], output_field=BooleanField())  # noqa: S611 - fixed SQL, no parameters


def _related_table(name: str) -> str:
    """The table whose rows relate another app's objects to a contact by `name` (news feeds, shared links)."""
    rel = Contact._meta.get_field(name)
    return (rel.through if rel.many_to_many else rel.related_model)._meta.db_table


def contact_with_activity_get_for_agent(*, account: SparkAccount, pk: int) -> Contact:
    """`contact_get_for_agent` with, in the same query, the contact's activity (`contact.activity`, if any), whether
    a change to it still waits for flexmls (for a contact with a refused change, which may have others), whether
    it has news feeds or shared links (`has_newsfeeds`, `has_shared_links`) and whether it has writes or audit
    events at all (`has_writes`, `has_history`: the page reads neither for an untouched contact)."""
    assert SparkWrite.OPEN == (SparkWrite.Status.QUEUED, SparkWrite.Status.IN_FLIGHT)  # as spelled below
    try:
        contact = Contact.objects.select_related("activity").annotate(
            waiting=_exists(f"SELECT 1 FROM {SparkWrite._meta.db_table} w WHERE w.contact_id = contacts_app_contact.id "
                            "AND w.status IN ('queued', 'in_flight')"),
            has_newsfeeds=_exists(f"SELECT 1 FROM {_related_table('newsfeeds')} r "
                                  "WHERE r.contact_id = contacts_app_contact.id"),
            has_shared_links=_exists(f"SELECT 1 FROM {_related_table('shared_links')} r "
                                     "WHERE r.contact_id = contacts_app_contact.id"),
            has_writes=_exists(f"SELECT 1 FROM {SparkWrite._meta.db_table} w "
                               "WHERE w.contact_id = contacts_app_contact.id"),
            has_history=_exists(f"SELECT 1 FROM {AuditEvent._meta.db_table} e "
                                "WHERE e.contact_id = contacts_app_contact.id"),
        ).get(pk=pk, owner=account)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise Http404("No such contact") from None
    contact.owner = account
    contact.row_states = {"waiting": contact.waiting}  # as templatetags.waiting_on_flexmls reads it
    if not contact.has_writes:
        contact.tag_writes = []  # as templatetags.tag_chips reads it: nothing to ask
    return contact


def contact_with_email(*, account: SparkAccount, email: str, exclude_pk: int | None = None) -> Contact | None:
    """The agent's contact that already has this e-mail, as its primary or a secondary address (any case): the
    duplicates finder's matcher (`Contact.email_keys`, kept by the database, GIN-indexed)."""
    key = email_key(email)
    if not key:
        return None
    qs = Contact.objects.filter(owner=account, pending_delete=False, email_keys__contains=[key]).exclude(
        spark_id__isnull=True, write_state=Contact.WriteState.FAILED)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    # Whose primary e-mail it is first, then whose secondary.
    return qs.order_by(Case(When(primary_email__iexact=key, then=0), default=1), "display_name", "id").first()


PLACEHOLDER_KEY_HOLDERS = 25  # a phone more contacts than this share is an office's or a placeholder (the finder's rule)


def contact_with_phone(*, account: SparkAccount, keys: list[str], exclude_pk: int | None = None) -> Contact | None:
    """The agent's contact that already has one of these phones (`duplicates.phone_key`s: the last 10 digits), by
    `Contact.phone_keys` (kept by the database, GIN-indexed); a phone shared by more than PLACEHOLDER_KEY_HOLDERS
    contacts is not a match."""
    qs = Contact.objects.filter(owner=account, pending_delete=False).exclude(
        spark_id__isnull=True, write_state=Contact.WriteState.FAILED)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    for key in keys[:10]:
        holders = list(qs.filter(phone_keys__contains=[key]).order_by("display_name", "id")
                       .only("pk", "display_name", "phone_keys")[:PLACEHOLDER_KEY_HOLDERS + 1])
        if holders and len(holders) <= PLACEHOLDER_KEY_HOLDERS:
            return holders[0]
    return None


def sync_state_get(*, account: SparkAccount, resource: str = "contacts") -> SyncState | None:
    return SyncState.objects.filter(account=account, resource=resource).first()


def tag_list(*, account: SparkAccount) -> list[str]:
    """Every tag the agent uses (cached briefly: it feeds filters and autocomplete on every page)."""
    key = f"tags:{account.pk}"
    tags = cache.get(key)
    if tags is None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT unnest(tags) AS t FROM contacts_app_contact WHERE owner_id = %s ORDER BY t",
                [account.pk],
            )
            tags = [row[0] for row in cur.fetchall()]
        cache.set(key, tags, 60)
    return tags


def tag_list_forget(*, account: SparkAccount) -> None:
    cache.delete(f"tags:{account.pk}")


def contacts_changed_since(*, account: SparkAccount, since: dt.datetime) -> bool:
    """Has any of the agent's contacts changed in the store since then (a sync or a write)?"""
    return Contact.objects.filter(owner=account, updated_at__gt=since).exists()


@dataclass
class SparkHealth:
    queued: int
    stuck: bool
    message: str


@dataclass
class AgentOverview:
    """What every page says about the agent, read in one query: Spark's health for their changes, how many need a
    decision, the list's total, the contacts sync, and when the news feeds were last read."""

    health: SparkHealth
    attention_count: int
    live_count: int
    sync: SyncState | None
    newsfeeds_synced_at: dt.datetime | None


_SYNC_COLUMNS = [f.column for f in SyncState._meta.concrete_fields]
_OVERVIEW_SQL = f"""
SELECT
  (SELECT count(*) FROM contacts_app_sparkwrite WHERE account_id = %(a)s AND status IN ('queued', 'in_flight')),
  (SELECT count(*) FROM contacts_app_sparkwrite WHERE account_id = %(a)s AND status = 'failed'),
  (SELECT spark_message FROM contacts_app_sparkwrite WHERE account_id = %(a)s AND status IN ('queued', 'in_flight')
     AND attempts >= 1 AND spark_message <> '' AND updated_at >= %(since)s ORDER BY updated_at DESC LIMIT 1),
  (SELECT live FROM contacts_app_contactcount WHERE owner_id = %(a)s),
  (SELECT last_success_at FROM contacts_app_syncstate WHERE account_id = %(a)s AND resource = 'newsfeeds'),
  {", ".join(f"s.{c}" for c in _SYNC_COLUMNS)}
FROM (SELECT 1) AS one
LEFT JOIN contacts_app_syncstate s ON s.account_id = %(a)s AND s.resource = 'contacts'
"""


def agent_overview(*, account: SparkAccount) -> AgentOverview:
    """Read once per request: kept on the account object (each request loads its own) for the view and the
    context processor alike."""
    cached = getattr(account, "_overview", None)
    if cached is not None:
        return cached
    assert SparkWrite.OPEN == (SparkWrite.Status.QUEUED, SparkWrite.Status.IN_FLIGHT)  # as spelled in the SQL
    with connection.cursor() as cur:
        cur.execute(_OVERVIEW_SQL, {"a": account.pk, "since": timezone.now() - dt.timedelta(minutes=30)})
        row = cur.fetchone()
    queued, failed, struggling, live, feeds_at, *sync_values = row
    sync = None
    if sync_values[0] is not None:
        sync = SyncState.from_db(connection.alias, [f.attname for f in SyncState._meta.concrete_fields], sync_values)
        sync.account = account
    account._overview = AgentOverview(
        health=SparkHealth(queued=queued, stuck=struggling is not None, message=struggling or ""),
        attention_count=failed, live_count=live or 0, sync=sync, newsfeeds_synced_at=feeds_at)
    return account._overview


def spark_health(*, account: SparkAccount) -> SparkHealth:
    """Is Spark taking this agent's changes? Writes retried for a while mean it is down or refusing calls."""
    return agent_overview(account=account).health
