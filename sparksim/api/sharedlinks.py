"""Shared Links page: POST /sharedlinks/(listings|search), GET /sharedlinks (Private only), GET /sharedlinks/<Id>.

Roles: every role reads; IDX and Public write only with a privileged key; only Private may set ContactIds or create
Direct links (always Mode Public); VOW keys always share in Public mode.
"""

from __future__ import annotations

from typing import Any

from .. import contacts as contact_svc
from .. import query
from ..context import Ctx
from ..envelope import ApiError, constraint, forbidden_role, not_found, success
from ..ids import fmt_ts, short_id
from ..model import IDX, PORTAL, PRIVATE, PUBLIC, VOW, SharedLink
from . import route
from .newsfeeds import search_record

MAX_LISTINGS = 200
RESERVED = ("listings", "search")


def link_record(ctx: Ctx, link: SharedLink, expand: list[str] = ()) -> dict[str, Any]:
    state = ctx.state
    out: dict[str, Any] = {"Id": link.id, "ResourceUri": f"/v1/sharedlinks/{link.id}",
                           "SharedUri": shared_uri(ctx, link), "Type": link.type, "Mode": link.mode,
                           "ContactIds": list(link.contact_ids), "ListingIds": list(link.listing_ids),
                           "CreatedTimestamp": fmt_ts(link.created)}
    if link.search_id:
        s = state.searches.get(link.search_id)
        out["SavedSearch"] = search_record(s) if s else None
    if "Contacts" in expand:
        out["Contacts"] = [contact_svc.serialize(state, state.contacts[c]) for c in link.contact_ids
                           if c in state.contacts]
    return out


def shared_uri(ctx: Ctx, link: SharedLink) -> str:
    return f"{ctx.request.host_url.rstrip('/')}/share/{link.id}"


def _mode_and_type(ctx: Ctx, d: dict[str, Any]) -> tuple[str, str]:
    role = ctx.actor.role
    link_type = d.get("Type", "Indirect")
    if link_type not in ("Direct", "Indirect"):
        raise constraint("Type must be Direct or Indirect", "Type", "Enumeration", link_type)
    default_mode = {PRIVATE: "Idx", IDX: "Idx", PUBLIC: "Public", VOW: "Public", PORTAL: "Public"}[role]
    mode = d.get("Mode", default_mode)
    if mode not in ("Idx", "Public", "Vow"):
        raise constraint("Mode must be Idx, Public or Vow", "Mode", "Enumeration", mode)
    if link_type == "Direct":
        if role != PRIVATE:
            raise forbidden_role("Only private roles may create Direct shared links")
        if "Mode" in d and mode != "Public":
            raise constraint("Direct shared links always have Mode Public", "Mode", "DirectIsPublic", mode)
        mode = "Public"
    if role == VOW:
        mode = "Public"
    return link_type, mode


def _contact_ids(ctx: Ctx, d: dict[str, Any]) -> list[str]:
    ids = d.get("ContactIds")
    if ids is None:
        return []
    if ctx.actor.role != PRIVATE:
        raise forbidden_role("ContactIds may only be set by private roles")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise constraint("ContactIds must be a list of contact ids", "ContactIds", "Type", ids)
    for cid in ids:
        c = ctx.state.contacts.get(cid)
        if c is None or c.owner_id != ctx.user_id:
            raise constraint(f"ContactIds: {cid} is not one of your contacts", "ContactIds", "Exists", cid)
    return list(dict.fromkeys(ids))


def _create(ctx: Ctx, kind: str):
    role = ctx.actor.role
    if role in (IDX, PUBLIC) and not ctx.actor.privileged:
        raise forbidden_role(f"{role} keys may create shared links only when privileged")
    d = ctx.d()
    allowed = {"Type", "Mode", "ContactIds", "ListingIds" if kind == "listings" else "SearchId"}
    for k in d:
        if k not in allowed:
            raise constraint(f"{k} cannot be set when creating a shared link", k, "UnknownAttribute", d[k])
    state = ctx.state
    with state.lock:
        link_type, mode = _mode_and_type(ctx, d)
        contact_ids = _contact_ids(ctx, d)
        listing_ids: list[str] = []
        search_id = None
        if kind == "listings":
            raw = d.get("ListingIds")
            if not isinstance(raw, list) or not raw:
                raise ApiError(400, 1050, "ListingIds is required (a non-empty list)")
            if not all(isinstance(i, str) for i in raw):
                raise constraint("ListingIds must be a list of listing ids", "ListingIds", "Type", raw)
            listing_ids = list(dict.fromkeys(raw))
            if len(listing_ids) > MAX_LISTINGS:
                raise constraint(f"A shared link holds at most {MAX_LISTINGS} listings", "ListingIds", "MaxCount",
                                 len(listing_ids))
            unknown = [i for i in listing_ids if i not in state.listings]
            if unknown:
                raise constraint(f"ListingIds: {unknown[0]} is not a listing", "ListingIds", "Exists", unknown[0])
        else:
            search_id = d.get("SearchId")
            s = state.searches.get(search_id) if isinstance(search_id, str) else None
            if search_id is None:
                raise ApiError(400, 1050, "SearchId is required")
            visible = s is not None and (s.owner_id == ctx.user_id if role not in (VOW, PORTAL)
                                         else ctx.actor.contact_id in s.contact_ids)
            if not visible:
                raise constraint(f"SearchId: {search_id} is not one of your saved searches", "SearchId", "Exists",
                                 search_id)
        state.sharedlink_counter += 1
        n = state.sharedlink_counter
        link = SharedLink(short_id(n, state.seed), ctx.user_id, ctx.actor.key_id, kind, link_type, mode,
                          contact_ids, listing_ids, search_id, state.next_timestamp(), seq=n)
        state.sharedlinks[link.id] = link
        if kind == "listings":
            for cid in contact_ids:  # documented: shared listings land in each contact's Recommended cart
                cart = state.carts.setdefault(cid, [])
                cart.extend(x for x in listing_ids if x not in cart)
        return success([{"Id": link.id, "ResourceUri": f"/v1/sharedlinks/{link.id}",
                         "SharedUri": shared_uri(ctx, link)}], status=201)


@route("/v1/sharedlinks/listings", "POST")
def create_listings_link(ctx: Ctx):
    return _create(ctx, "listings")


@route("/v1/sharedlinks/search", "POST")
def create_search_link(ctx: Ctx):
    return _create(ctx, "search")


@route("/v1/sharedlinks", "GET")
def all_links(ctx: Ctx):
    ctx.need(PRIVATE)
    expand = query.expand(ctx.args, ("Contacts",))
    paging = query.paging(ctx.args)
    with ctx.state.lock:
        rows = sorted((x for x in ctx.state.sharedlinks.values() if x.owner_id == ctx.user_id),
                      key=lambda x: x.seq)
        page, pagination = query.page_of(rows, paging)
        return success([link_record(ctx, x, expand) for x in page], pagination)


@route("/v1/sharedlinks/<link_id>", "GET")
def one_link(ctx: Ctx, link_id: str):
    if link_id in RESERVED:  # GET/PUT/DELETE on the create URIs are documented 405s
        err = ApiError(405, 405, f"{ctx.method} is not implemented for this resource")
        err.headers["Allow"] = "POST"
        raise err
    expand = query.expand(ctx.args, ("Contacts",))
    if "Contacts" in expand:
        ctx.need(PRIVATE)
    with ctx.state.lock:
        link = ctx.state.sharedlinks.get(link_id)
        if link is None:
            raise not_found("Shared link")
        return success([link_record(ctx, link, expand)])
