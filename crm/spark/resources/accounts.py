"""Accounts: the agent's own (`/my/account`) and the agents of an office (`/accounts/by/office/<Id>`)."""

from __future__ import annotations

from collections.abc import Iterable

from crm.spark.paging import MAX_PAGE_SIZE, Page
from crm.spark.records import AccountRecord
from crm.spark.resources._common import get_one, get_page, iter_parsed, query, seg


def my_account(client) -> AccountRecord:
    return get_one(client, "/my/account", AccountRecord.from_api)


def account_get(client, account_id: str) -> AccountRecord:
    return get_one(client, f"/accounts/{seg(account_id)}", AccountRecord.from_api)


def office_accounts(client, office_id: str, *, select: str | Iterable[str] | None = None) -> list[AccountRecord]:
    """Every agent of the office (all pages)."""
    return list(iter_parsed(client, f"/accounts/by/office/{seg(office_id)}", AccountRecord.from_api,
                            params=query(select=select)))


def office_accounts_page(client, office_id: str, *, page: int = 1, limit: int = MAX_PAGE_SIZE,
                         select: str | Iterable[str] | None = None) -> Page[AccountRecord]:
    return get_page(client, f"/accounts/by/office/{seg(office_id)}", AccountRecord.from_api, page=page, limit=limit,
                    params=query(select=select))
