"""News feeds and saved searches (supporting reads and writes), shaped like fixtures/newsfeeds and saved_searches.

News feed roles (notes §7): Public reads a single feed only, VOW/Portal/Private read and write, IDX has no access.
"""

from __future__ import annotations

from typing import Any

from .. import query, sparkql
from ..context import Ctx
from ..envelope import ApiError, constraint, forbidden_role, not_found, success
from ..ids import fmt_ts
from ..model import CONSUMER_ROLES, PORTAL, PRIVATE, PUBLIC, VOW, NewsFeed, SavedSearch
from ..schedules import schedule_create
from . import route
from .listings import FIELDS as LISTING_FIELDS

FEED_ROLES = (PRIVATE, VOW, PORTAL)
EVENTS = ["New", "PriceChange", "Sold", "OpenHouse", "Pending", "BackOnMarket", "Extension", "StatusChange",
          "Recommended", "Shared", "Seeded"]


def search_record(s: SavedSearch, expand: list[str] = (), feeds: list[NewsFeed] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"ResourceUri": f"/v1/savedsearches/{s.id}", "Id": s.id, "Name": s.name,
                           "Description": s.description, "Filter": s.filter, "ContactIds": list(s.contact_ids),
                           "Provided": s.provided, "OwnerId": s.owner_id,
                           "CreatedTimestamp": fmt_ts(s.created), "ModificationTimestamp": fmt_ts(s.modified)}
    if "NewsFeedSubscriptionSummary" in expand:
        out["NewsFeedSubscriptionSummary"] = {"ActiveSubscription": any(f.active for f in feeds)}
    if "NewsFeeds" in expand:
        out["NewsFeeds"] = [feed_record_brief(f) for f in feeds]
    return out


def feed_record_brief(f: NewsFeed) -> dict[str, Any]:
    return {"ResourceUri": f"/v1/newsfeeds/{f.id}", "Id": f.id, "Name": f.name, "OwnerId": f.owner_id,
            "Active": f.active, "Curated": False, "NotificationMethods": ["Email"], "Type": "SavedSearch",
            "CreatedTimestamp": fmt_ts(f.created), "ModificationTimestamp": fmt_ts(f.modified),
            "ExpirationDate": f.expiration, "LastEventTimestamp": fmt_ts(f.last_event) if f.last_event else None}


def feed_record(ctx: Ctx, f: NewsFeed) -> dict[str, Any]:
    s = ctx.state.searches.get(f.search_id)
    sub = None if s is None else {
        "ResourceUri": f"/v1/savedsearches/{s.id}", "Id": s.id, "OwnerId": s.owner_id, "Name": s.name,
        "Description": s.description, "Filter": s.filter, "ModificationTimestamp": fmt_ts(s.modified)}
    return {"Id": f.id, "ResourceUri": f"/v1/newsfeeds/{f.id}", "Active": f.active,
            "NotificationsActive": f.notifications_active, "Curated": False, "Name": f.name, "Type": "SavedSearch",
            "NotificationMethods": ["Email"], "CreatedTimestamp": fmt_ts(f.created),
            "ModificationTimestamp": fmt_ts(f.modified),
            "LastEventTimestamp": fmt_ts(f.last_event) if f.last_event else None,
            "ExpirationDate": f.expiration, "Subscription": sub}


def _visible_feeds(ctx: Ctx, contact_id: str | None) -> list[NewsFeed]:
    actor = ctx.actor
    feeds = ctx.state.feeds.values()
    if actor.role in CONSUMER_ROLES:
        if contact_id is not None and contact_id != actor.contact_id:
            raise forbidden_role("A consumer may only read their own news feeds")
        return [f for f in feeds if f.contact_id == actor.contact_id]
    if contact_id is not None:
        c = ctx.state.contacts.get(contact_id)
        if c is None or c.owner_id != actor.user_id:
            raise not_found("Contact")
        return [f for f in feeds if f.contact_id == contact_id]
    return [f for f in feeds if f.owner_id == actor.user_id]


@route("/v1/newsfeeds", "GET", "POST")
@route("/v1/contacts/<sid:contact_id>/newsfeeds", "GET", "POST")
def newsfeeds(ctx: Ctx, contact_id: str | None = None):
    ctx.need(*FEED_ROLES)
    state = ctx.state
    with state.lock:
        if ctx.method == "GET":
            rows = sorted(_visible_feeds(ctx, contact_id), key=lambda f: f.id)
            page, pagination = query.page_of(rows, query.paging(ctx.args))
            return success([feed_record(ctx, f) for f in page], pagination)
        if ctx.actor.role in CONSUMER_ROLES:
            contact_id = ctx.actor.contact_id if contact_id in (None, ctx.actor.contact_id) else "forbidden"
            if contact_id == "forbidden":
                raise forbidden_role("A consumer may only create their own news feeds")
        d = ctx.d()
        items = d["NewsFeeds"] if isinstance(d.get("NewsFeeds"), list) else [d]
        created = [_create_feed(ctx, item, contact_id) for item in items]
        return success([{"Id": f.id, "ResourceUri": f"/v1/newsfeeds/{f.id}"} for f in created], status=201)


def _create_feed(ctx: Ctx, d: dict[str, Any], contact_id: str | None) -> NewsFeed:
    state = ctx.state
    if not isinstance(d, dict):
        raise ApiError(400, 1035, "A news feed must be a JSON object")
    search_id = d.get("SavedSearchId") or (d.get("Subscription") or {}).get("Id")
    s = state.searches.get(search_id or "")
    if s is None:
        raise constraint("SavedSearchId must name an existing saved search", "SavedSearchId", "Exists", search_id)
    contact_id = contact_id or d.get("ContactId")
    if contact_id is not None:
        c = state.contacts.get(contact_id)
        if c is None or (ctx.actor.role == PRIVATE and c.owner_id != ctx.user_id):
            raise not_found("Contact")
    name = d.get("Name") or s.name
    if not isinstance(name, str) or len(name) > 75:
        raise constraint("Name must be a string of at most 75 characters", "Name", "MaxLength", name)
    notify = d.get("NotificationsActive", True)
    if not isinstance(notify, bool):
        raise constraint("NotificationsActive must be a boolean", "NotificationsActive", "Type", notify)
    now = state.next_timestamp()
    owner = ctx.user_id
    f = NewsFeed(state.new_id("feed"), owner, contact_id, s.id, name, now, now, active=True,
                 notifications_active=notify, expiration="")
    state.feeds[f.id] = f
    subject = ("contact", contact_id) if contact_id else ("user", owner)
    has_default = any(x.newsfeed_id is None and x.subject == subject for x in state.schedules.values())
    if notify and not has_default:  # the documented side effect: an Instant default schedule appears
        schedule_create(state, {"Frequency": "Instant"}, subject, None)
    return f


@route("/v1/newsfeeds/<sid:feed_id>", "GET", "PUT", "DELETE")
def newsfeed(ctx: Ctx, feed_id: str):
    state = ctx.state
    actor = ctx.actor
    if ctx.method == "GET":
        ctx.need(*FEED_ROLES, PUBLIC)
    else:
        ctx.need(*FEED_ROLES)
    with state.lock:
        f = state.feeds.get(feed_id)
        visible = f is not None and (f.contact_id == actor.contact_id if actor.role in CONSUMER_ROLES
                                     else f.owner_id == actor.user_id)
        if not visible:
            raise not_found("News feed")
        if ctx.method == "GET":
            return success([feed_record(ctx, f)])
        if ctx.method == "DELETE":
            state.delete_feed(f)
            return success()
        d = ctx.d()
        for k, v in d.items():
            if k in ("Active", "NotificationsActive"):
                if not isinstance(v, bool):
                    raise constraint(f"{k} must be a boolean", k, "Type", v)
            elif k == "Name":
                if not isinstance(v, str) or not v.strip() or len(v) > 75:
                    raise constraint("Name must be 1-75 characters", k, "MaxLength", v)
            else:
                raise constraint(f"{k} cannot be changed", k, "ReadOnly", v)
        f.active = d.get("Active", f.active)
        f.notifications_active = d.get("NotificationsActive", f.notifications_active)
        f.name = d.get("Name", f.name)
        f.modified = state.next_timestamp(f.modified)
        return success()


@route("/v1/newsfeeds/meta", "GET")
def newsfeed_meta(ctx: Ctx):
    ctx.need(*FEED_ROLES, PUBLIC)
    core = {n: {"ResourceUri": f"/v1/standardfields/{n}", "Searchable": True, "Type": f.type.capitalize(),
                "Label": n} for n, f in LISTING_FIELDS.items() if n in ("City", "ListPrice", "BedsTotal",
                                                                         "MlsStatus", "PropertyType", "PostalCode")}
    return success([{"Events": EVENTS, "Subscriptions": {"SavedSearches": {
        "CoreStandardFields": core, "CoreSearchFields": sorted(core), "MinimumCoreFields": 2}}}])


# ---- saved searches --------------------------------------------------------------------------------------------

def _visible_searches(ctx: Ctx) -> list[SavedSearch]:
    actor = ctx.actor
    if actor.role in CONSUMER_ROLES:
        return [s for s in ctx.state.searches.values() if actor.contact_id in s.contact_ids]
    return [s for s in ctx.state.searches.values() if s.owner_id == actor.user_id]


def _check_filter(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, 1050, "Filter is required")
    try:
        sparkql.compile_filter(text, LISTING_FIELDS)
    except sparkql.FilterError as e:
        raise ApiError(400, e.code, e.message, SparkQLErrors=[e.as_sparkql_error(text)]) from None
    return text


@route("/v1/savedsearches", "GET", "POST")
def savedsearches(ctx: Ctx):
    ctx.need(PRIVATE, VOW, PORTAL)
    state = ctx.state
    with state.lock:
        if ctx.method == "GET":
            expand = query.expand(ctx.args, ("NewsFeeds", "NewsFeedSubscriptionSummary"))
            rows = sorted(_visible_searches(ctx), key=lambda s: s.id)
            page, pagination = query.page_of(rows, query.paging(ctx.args))
            return success([search_record(s, expand, [f for f in state.feeds.values() if f.search_id == s.id])
                            for s in page], pagination)
        ctx.need(PRIVATE)
        d = ctx.d()
        items = d["SavedSearches"] if isinstance(d.get("SavedSearches"), list) else [d]
        out = []
        for item in items:
            name = item.get("Name") if isinstance(item, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise ApiError(400, 1050, "Name is required")
            flt = _check_filter(item.get("Filter"))
            contact_ids = item.get("ContactIds") or []
            for cid in contact_ids:
                c = state.contacts.get(cid)
                if c is None or c.owner_id != ctx.user_id:
                    raise constraint(f"ContactIds: {cid} is not one of your contacts", "ContactIds", "Exists", cid)
            now = state.next_timestamp()
            s = SavedSearch(state.new_id("search"), ctx.user_id, name, flt, list(contact_ids), now, now,
                            description=str(item.get("Description") or ""))
            state.searches[s.id] = s
            out.append({"Id": s.id, "ResourceUri": f"/v1/savedsearches/{s.id}", "Name": s.name})
        return success(out, status=201)


@route("/v1/savedsearches/<sid:search_id>", "GET", "PUT", "DELETE")
def savedsearch(ctx: Ctx, search_id: str):
    ctx.need(PRIVATE, VOW, PORTAL)
    state = ctx.state
    with state.lock:
        s = next((x for x in _visible_searches(ctx) if x.id == search_id), None)
        if s is None:
            raise not_found("Saved search")
        feeds = [f for f in state.feeds.values() if f.search_id == s.id]
        if ctx.method == "GET":
            expand = query.expand(ctx.args, ("NewsFeeds", "NewsFeedSubscriptionSummary"))
            return success([search_record(s, expand, feeds)])
        ctx.need(PRIVATE)
        if ctx.method == "DELETE":
            for f in feeds:
                state.delete_feed(f)
            del state.searches[s.id]
            return success()
        d = ctx.d()
        for k in d:
            if k not in ("Name", "Filter", "Description"):
                raise constraint(f"{k} cannot be changed", k, "ReadOnly", d[k])
        if "Filter" in d:
            s.filter = _check_filter(d["Filter"])
        s.name = d.get("Name", s.name)
        s.description = d.get("Description", s.description)
        s.modified = state.next_timestamp(s.modified)
        return success()
