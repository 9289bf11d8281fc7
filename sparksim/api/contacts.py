"""Contacts page: /contacts, /contacts/unconnected, /contacts/<Id> (read, update, delete, transfer), /my/contact,
and the tag reads of the legacy page (/contacts/tags, /contacts/tags/<Tag>)."""

from __future__ import annotations

from .. import contacts as svc
from .. import query, sparkql
from ..context import Ctx
from ..envelope import ApiError, constraint, forbidden_role, not_found, success
from ..model import CONSUMER_ROLES, IDX, PORTAL, PRIVATE, PUBLIC, VOW
from . import route

READERS = (PRIVATE, IDX, PUBLIC)  # VOW/Portal reads are limited to /my/contact
WRITERS = (PRIVATE, IDX)


def _read_args(ctx: Ctx, single: bool = False) -> tuple[list[str], list[str] | None]:
    expand = query.expand(ctx.args, svc.EXPANSIONS)
    if "Activity" in expand and ctx.actor.role != PRIVATE:
        raise forbidden_role("The Activity expansion is available to the Private role only")
    if ctx.actor.role != PRIVATE and _uses_score(ctx):
        # Score belongs to the Activity expansion (Private only): other roles may not rank or filter by a value
        # they may not see.
        raise forbidden_role("Score (the Activity expansion) is available to the Private role only")
    if "Portal" in expand and ctx.actor.role not in (PRIVATE, PORTAL, VOW):
        raise forbidden_role("The Portal expansion is not available to this role")
    return expand, query.select(ctx.args, svc.SELECTABLE)


def _uses_score(ctx: Ctx) -> bool:
    if any(part.lstrip("+-").strip() == "Score" for part in query.csv_param(ctx.args, "_orderby")):
        return True
    text = (ctx.args.get("_filter") or "").strip()
    if not text or "score" not in text.lower():
        return False
    try:
        return "Score" in sparkql.fields_of(sparkql.parse(text))
    except sparkql.FilterError:
        return False  # a filter that does not parse is refused as such (1040) when it is compiled


def _listing(ctx: Ctx, status: str, extra=None, extra_key: str = ""):
    expand, select = _read_args(ctx)
    rows, pagination = svc.list_contacts(ctx.state, ctx.user_id, status, ctx.args, extra, extra_key)
    single = False
    return success([svc.serialize(ctx.state, c, expand=expand, select=select, single=single) for c in rows],
                   pagination)


@route("/v1/contacts", "GET", "POST")
def contacts(ctx: Ctx):
    if ctx.method == "GET":
        ctx.need(*READERS)
        with ctx.state.lock:
            return _listing(ctx, "Connected")
    ctx.need(*WRITERS)
    d = ctx.d()
    if "Contacts" in d:  # legacy request format: {"D": {"Contacts": [{...}], "Notify": true}}
        items = d["Contacts"]
        if not isinstance(items, list) or not items:
            raise ApiError(400, 1050, "Contacts must be a non-empty list")
        extra = set(d) - {"Contacts", "Notify"}
        if extra:
            raise constraint(f"Unexpected attribute {sorted(extra)[0]} next to Contacts", sorted(extra)[0],
                             "UnknownAttribute")
    else:
        items = [d]
    with ctx.state.lock:
        for item in items:  # validate all before creating any
            svc.validate_new(ctx.state, ctx.actor, item)
        created = [svc.contact_create(ctx.state, ctx.actor, item) for item in items]
    return success([{"Id": c.id, "ResourceUri": svc.resource_uri(c)} for c in created], status=201)


@route("/v1/contacts/unconnected", "GET")
def unconnected(ctx: Ctx):
    ctx.need(*READERS)  # the role table of the Contacts page; the unconnected service names no other rule
    with ctx.state.lock:
        return _listing(ctx, "Unconnected")


@route("/v1/contacts/<sid:contact_id>", "GET", "PUT", "DELETE")
def contact(ctx: Ctx, contact_id: str):
    state = ctx.state
    if ctx.method == "GET":
        ctx.need(*READERS)
        expand, select = _read_args(ctx, single=True)
        with state.lock:
            c = svc.get_for_actor(state, ctx.actor, contact_id)
            return success([svc.serialize(state, c, expand=expand, select=select, single=True)])
    ctx.need(*WRITERS)
    if ctx.method == "DELETE":
        with state.lock:
            c = svc.get_for_actor(state, ctx.actor, contact_id)
            state.delete_contact(c)
        return success()
    d = ctx.d()
    with state.lock:
        if "OwnerId" in d:
            c = state.contacts.get(contact_id)
            if c is None or (c.owner_id != ctx.user_id and not ctx.actor.mls_admin):
                raise not_found("Contact")
            others = sorted(set(d) - {"OwnerId"})
            if others:
                raise constraint(f"No attribute other than OwnerId can be specified in a transfer ({others[0]})",
                                 others[0], "TransferOnlyOwnerId")
            svc.contact_transfer(state, ctx.actor, c, d["OwnerId"])
        else:
            c = svc.get_for_actor(state, ctx.actor, contact_id)
            svc.contact_update(state, c, d)
    return success()


@route("/v1/my/contact", "GET", "PUT")
def my_contact(ctx: Ctx):
    state = ctx.state
    actor = ctx.actor
    if actor.role not in CONSUMER_ROLES or not actor.contact_id:
        raise forbidden_role("/my/contact is available to VOW and Portal (consumer) credentials only")
    with state.lock:
        c = state.contacts.get(actor.contact_id)
        if c is None:
            raise not_found("Contact")
        if ctx.method == "GET":
            expand, select = _read_args(ctx, single=True)
            return success([svc.serialize(state, c, expand=expand, select=select, single=True)])
        svc.contact_update(state, c, ctx.d(), writeable=svc.MY_CONTACT_WRITEABLE)
    return success()


@route("/v1/contacts/tags", "GET", "POST")
def tags(ctx: Ctx):
    state = ctx.state
    if ctx.method == "GET":
        ctx.need(PRIVATE, IDX, PUBLIC, VOW, PORTAL)
        paging = query.paging(ctx.args)
        with state.lock:
            names = svc.tags_for(state, ctx.user_id)
        rows, pagination = query.page_of(names, paging) if ctx.args.get("_pagination") else (names, None)
        return success([{"ResourceUri": f"/v1/contacts/tags/{t}", "Tag": t} for t in rows], pagination)
    ctx.need(PRIVATE, IDX)
    d = ctx.d()
    tag = d.get("Tag")
    if not isinstance(tag, str) or not tag.strip():
        raise ApiError(400, 1050, "Tag is required")
    if len(tag) > 75:
        raise constraint("A tag is limited to 75 characters", "Tag", "MaxLength", len(tag))
    with state.lock:
        existing = svc.tags_for(state, ctx.user_id)
        if tag.lower() in (t.lower() for t in existing):
            raise ApiError(409, 1055, f"The tag '{tag}' already exists")
        state.extra_tags.setdefault(ctx.user_id, []).append(tag)
    return success([{"Id": tag, "ResourceUri": f"/v1/contacts/tags/{tag}", "Tag": tag}], status=201)


@route("/v1/contacts/tags/<tag>", "GET", "DELETE")
def tag(ctx: Ctx, tag: str):
    state = ctx.state
    wanted = tag.lower()
    if ctx.method == "GET":
        ctx.need(PRIVATE, IDX, PUBLIC)
        with state.lock:
            return _listing(ctx, "Connected", lambda c: any(t.lower() == wanted for t in c.data.get("Tags", ())),
                            f"tag:{wanted}")
    ctx.need(PRIVATE, IDX)
    with state.lock:
        if wanted not in (t.lower() for t in svc.tags_for(state, ctx.user_id)):
            raise not_found("Tag")
        svc.tag_delete(state, ctx.user_id, tag)
    return success()
