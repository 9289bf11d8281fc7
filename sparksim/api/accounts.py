"""Accounts: /my/account (who am I), /accounts/by/office/<OfficeId> (whom may I transfer to), /accounts/<Id>.

Shaped like fixtures accounts/my.json, office.json and my_portal.json. Roles: Accounts are readable by every role.
"""

from __future__ import annotations

from typing import Any

from .. import query
from ..context import Ctx
from ..envelope import not_found, success
from ..model import CONSUMER_ROLES, Account
from ..seed import MLS_ID, MLS_NAME
from ..state import State
from . import route


def account_record(state: State, a: Account) -> dict[str, Any]:
    office = state.offices[a.office_id]
    return {
        "ResourceUri": f"/v1/accounts/{a.user_id}",
        "Id": a.user_id,
        "Name": a.name,
        "UserType": "Mls" if a.mls_admin else "Member",
        "Office": office.name,
        "OfficeId": office.id,
        "Mls": MLS_NAME,
        "MlsId": MLS_ID,
        "MlsAdmin": a.mls_admin,
        "Emails": [{"Type": "Work", "Name": "Work E-mail", "Address": a.email, "Primary": True}],
        "Phones": [{"Type": "Work", "Name": "Work Phone", "Number": a.phone, "Primary": True}],
        "Websites": [{"Type": "Work", "Name": "Website", "Uri": f"https://{a.login}.realty.example.com",
                      "Primary": True}],
        "Addresses": [{"Type": "Work", "Name": "Office", "Address": f"101 Main Ave, {office.city}, ND 58102",
                       "Primary": True}],
        "Images": [],
    }


def portal_record(state: State, a: Account) -> dict[str, Any]:
    c = state.contacts.get(a.contact_id or "")
    return {"ResourceUri": "/v1/my/account", "Id": a.contact_id, "Name": c.data.get("DisplayName") if c else a.name,
            "Emails": [{"Type": "Personal", "Name": "E-mail", "Address": a.email, "Primary": True}],
            "Phones": [], "Websites": [], "Addresses": [], "GetEmailUpdates": False}


@route("/v1/my/account", "GET")
def my_account(ctx: Ctx):
    actor = ctx.actor
    if actor.role in CONSUMER_ROLES:
        return success([portal_record(ctx.state, actor.account)])
    return success([account_record(ctx.state, actor.agent)])


@route("/v1/accounts/by/office/<sid:office_id>", "GET")
def by_office(ctx: Ctx, office_id: str):
    state = ctx.state
    if office_id not in state.offices:
        raise not_found("Office")
    rows = [account_record(state, a) for a in state.agents.values() if a.office_id == office_id]
    if ctx.args.get("_pagination"):
        page, pagination = query.page_of(rows, query.paging(ctx.args))
        return success(page, pagination)
    return success(rows)


@route("/v1/accounts/<sid:user_id>", "GET")
def account(ctx: Ctx, user_id: str):
    a = ctx.state.agents.get(user_id)
    if a is None:
        raise not_found("Account")
    return success([account_record(ctx.state, a)])


@route("/v1/accounts", "GET")
def accounts(ctx: Ctx):
    paging = query.paging(ctx.args)
    rows = [account_record(ctx.state, a) for a in ctx.state.agents.values()]
    page, pagination = query.page_of(rows, paging)
    return success(page, pagination)
