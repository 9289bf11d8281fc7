"""Contacts: Activity page: /contacts/<Id>/activity and /contacts/<Id>/activity/listings/(viewed|shared).

Private role only (reads; no writes). The counts agree with the Activity expansion: Score is the weighted sum of the
same events that make up the 30-day DailyActivity series.
"""

from __future__ import annotations

from .. import contacts as svc
from .. import query
from ..context import Ctx
from ..envelope import success
from ..model import PRIVATE
from . import route
from .listings import LISTING_EXPANSIONS, SELECTABLE, listing_record


@route("/v1/contacts/<sid:contact_id>/activity", "GET")
def activity(ctx: Ctx, contact_id: str):
    ctx.need(PRIVATE)
    with ctx.state.lock:
        c = svc.get_for_actor(ctx.state, ctx.actor, contact_id)
        return success([svc.activity_summary(c)])


@route("/v1/contacts/<sid:contact_id>/activity/listings/<any(viewed,shared):which>", "GET")
def activity_listings(ctx: Ctx, contact_id: str, which: str):
    ctx.need(PRIVATE)
    state = ctx.state
    paging = query.paging(ctx.args)
    expand = query.expand(ctx.args, (*LISTING_EXPANSIONS, "ContactActivity"))
    select = query.select(ctx.args, SELECTABLE)
    with state.lock:
        c = svc.get_for_actor(state, ctx.actor, contact_id)
        ids = svc.activity_listing_ids(state, c, which)
        rows, pagination = query.page_of(ids, paging)
        out = []
        for lid in rows:
            rec = listing_record(ctx, state.listings[lid], expand, select)
            if "ContactActivity" in expand:
                rec["ContactActivity"] = {"Viewed": which == "viewed" or lid in svc.activity_listing_ids(
                    state, c, "viewed"), "Shared": which == "shared" or lid in svc.activity_listing_ids(
                    state, c, "shared")}
            out.append(rec)
    return success(out, pagination)
