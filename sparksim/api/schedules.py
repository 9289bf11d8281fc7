"""News Feed: Schedule page: default schedules and per-feed schedules, in both path forms
(`/newsfeeds/...` and `/contacts/<Id>/newsfeeds/...`). Roles: VOW, Portal and Private read and write."""

from __future__ import annotations

from .. import schedules as svc
from ..context import Ctx
from ..envelope import forbidden_role, not_found, success
from ..model import CONSUMER_ROLES, PORTAL, PRIVATE, VOW, NewsFeed, Schedule
from . import route

ROLES = (PRIVATE, VOW, PORTAL)


def _subject(ctx: Ctx, contact_id: str | None) -> tuple[str, str]:
    actor = ctx.actor
    if contact_id is None:
        return ("contact", actor.contact_id) if actor.role in CONSUMER_ROLES else ("user", actor.user_id)
    if actor.role in CONSUMER_ROLES:
        if contact_id != actor.contact_id:
            raise forbidden_role("A consumer may only manage their own schedules")
    else:
        c = ctx.state.contacts.get(contact_id)
        if c is None or c.owner_id != actor.user_id:
            raise not_found("Contact")
    return ("contact", contact_id)


def _feed(ctx: Ctx, feed_id: str, contact_id: str | None) -> NewsFeed:
    actor = ctx.actor
    f = ctx.state.feeds.get(feed_id)
    if f is None:
        raise not_found("News feed")
    if actor.role in CONSUMER_ROLES:
        if f.contact_id != actor.contact_id:
            raise not_found("News feed")
    elif f.owner_id != actor.user_id:
        raise not_found("News feed")
    if contact_id is not None:
        _subject(ctx, contact_id)
        if f.contact_id != contact_id:
            raise not_found("News feed")
    return f


def _defaults(ctx: Ctx, subject: tuple[str, str]) -> list[Schedule]:
    return [s for s in ctx.state.schedules.values() if s.newsfeed_id is None and s.subject == subject]


@route("/v1/newsfeeds/schedule", "GET", "POST", "DELETE")
@route("/v1/contacts/<sid:contact_id>/newsfeeds/schedule", "GET", "POST", "DELETE")
def default_schedules(ctx: Ctx, contact_id: str | None = None):
    ctx.need(*ROLES)
    state = ctx.state
    with state.lock:
        subject = _subject(ctx, contact_id)
        if ctx.method == "GET":
            return success([svc.serialize(s) for s in _defaults(ctx, subject)])
        if ctx.method == "DELETE":
            for s in _defaults(ctx, subject):
                del state.schedules[s.id]
            return success()
        s = svc.schedule_create(state, ctx.d(), subject, None)
        return success([{"Id": s.id, "ResourceUri": svc.resource_uri(s)}], status=201)


@route("/v1/newsfeeds/schedule/<sid:schedule_id>", "GET", "PUT", "DELETE")
@route("/v1/contacts/<sid:contact_id>/newsfeeds/schedule/<sid:schedule_id>", "GET", "PUT", "DELETE")
def default_schedule(ctx: Ctx, schedule_id: str, contact_id: str | None = None):
    ctx.need(*ROLES)
    state = ctx.state
    with state.lock:
        subject = _subject(ctx, contact_id)
        s = state.schedules.get(schedule_id)
        if s is None or s.newsfeed_id is not None or s.subject != subject:
            raise not_found("Schedule")
        return _one(ctx, s)


@route("/v1/newsfeeds/<sid:feed_id>/schedule", "GET", "POST", "DELETE")
@route("/v1/contacts/<sid:contact_id>/newsfeeds/<sid:feed_id>/schedule", "GET", "POST", "DELETE")
def feed_schedules(ctx: Ctx, feed_id: str, contact_id: str | None = None):
    ctx.need(*ROLES)
    state = ctx.state
    with state.lock:
        f = _feed(ctx, feed_id, contact_id)
        mine = [s for s in state.schedules.values() if s.newsfeed_id == f.id]
        if ctx.method == "GET":
            return success([svc.serialize(s) for s in mine])
        if ctx.method == "DELETE":
            for s in mine:
                del state.schedules[s.id]
            return success()
        subject = ("contact", f.contact_id) if f.contact_id else ("user", f.owner_id)
        s = svc.schedule_create(state, ctx.d(), subject, f.id)
        return success([{"Id": s.id, "ResourceUri": svc.resource_uri(s)}], status=201)


@route("/v1/newsfeeds/<sid:feed_id>/schedule/<sid:schedule_id>", "GET", "PUT", "DELETE")
@route("/v1/contacts/<sid:contact_id>/newsfeeds/<sid:feed_id>/schedule/<sid:schedule_id>", "GET", "PUT", "DELETE")
def feed_schedule(ctx: Ctx, feed_id: str, schedule_id: str, contact_id: str | None = None):
    ctx.need(*ROLES)
    state = ctx.state
    with state.lock:
        f = _feed(ctx, feed_id, contact_id)
        s = state.schedules.get(schedule_id)
        if s is None or s.newsfeed_id != f.id:
            raise not_found("Schedule")
        return _one(ctx, s)


def _one(ctx: Ctx, s: Schedule):
    if ctx.method == "GET":
        return success([svc.serialize(s)])
    if ctx.method == "DELETE":
        del ctx.state.schedules[s.id]
        return success()
    svc.schedule_update(ctx.state, s, ctx.d())
    return success()
