"""Contacts: list (filter, orderby, select, expand), get, create, update, delete, transfer; unconnected contacts;
tags. Paths per the Contacts and Contacts: Tags pages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from crm.spark.paging import MAX_PAGE_SIZE, Page
from crm.spark.records import CONTACT_WRITABLE_LIMITS, TAG_MAX_LENGTH, ContactRecord, TagRecord
from crm.spark.resources._common import get_one, get_page, iter_parsed, query, seg

Strs = str | Iterable[str] | None


def contact_list(client, *, filter: str | None = None, orderby: Strs = None, select: Strs = None,
                 expand: Strs = None, page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[ContactRecord]:
    """One page of the agent's (connected) contacts. `filter` is SparkQL: build it with `crm.spark.sparkql`."""
    return get_page(client, "/contacts", ContactRecord.from_api, page=page, limit=limit,
                    params=query(filter=filter, orderby=orderby, select=select, expand=expand))


def contact_iter(client, *, filter: str | None = None, orderby: Strs = None, select: Strs = None,
                 expand: Strs = None, page_size: int = MAX_PAGE_SIZE) -> Iterator[ContactRecord]:
    """Every matching contact, fetched a page at a time as the caller reads."""
    return iter_parsed(client, "/contacts", ContactRecord.from_api, page_size=page_size,
                       params=query(filter=filter, orderby=orderby, select=select, expand=expand))


def unconnected_list(client, *, filter: str | None = None, orderby: Strs = None, select: Strs = None,
                     expand: Strs = None, page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[ContactRecord]:
    """Contacts not yet connected to an agent (RecordStatus Unconnected); transfer one to connect it."""
    return get_page(client, "/contacts/unconnected", ContactRecord.from_api, page=page, limit=limit,
                    params=query(filter=filter, orderby=orderby, select=select, expand=expand))


def contact_get(client, contact_id: str, *, expand: Strs = None, select: Strs = None) -> ContactRecord:
    return get_one(client, f"/contacts/{seg(contact_id)}", ContactRecord.from_api,
                   params=query(expand=expand, select=select))


def my_contact(client, *, expand: Strs = None) -> ContactRecord:
    """The portal/VOW user's own contact record (`/my/contact`)."""
    return get_one(client, "/my/contact", ContactRecord.from_api, params=query(expand=expand))


def contact_attrs_problems(attrs: Mapping[str, Any]) -> dict[str, str]:
    """Length problems Spark would answer with 1053, found before sending: {attribute: message}."""
    problems: dict[str, str] = {}
    for name, value in attrs.items():
        limit = CONTACT_WRITABLE_LIMITS.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            problems[name] = f"{name} may be at most {limit} characters"
        if name == "Tags" and isinstance(value, list):
            long = [t for t in value if isinstance(t, str) and len(t) > TAG_MAX_LENGTH]
            if long:
                problems[name] = f"Each tag may be at most {TAG_MAX_LENGTH} characters"
    return problems


def contact_create(client, attrs: Mapping[str, Any], notify: bool = False) -> str:
    """Create a contact; returns its new Id. `notify` asks Spark to tell the owner a lead arrived.

    Sent as `{"Contacts": [attrs], "Notify": …}` (the official clients' form, which Spark accepts alongside the
    flat form of the newer page). A POST is not retried after a timeout: it may have been applied."""
    data: dict[str, Any] = {"Contacts": [dict(attrs)]}
    if notify:
        data["Notify"] = True
    return client.request("POST", "/contacts", data=data).created_id()


def contact_update(client, contact_id: str, changed_attrs: Mapping[str, Any]) -> None:
    """PUT only the changed attributes. The owner changes through `contact_transfer`, never here."""
    if "OwnerId" in changed_attrs:
        raise ValueError("OwnerId changes through contact_transfer(), which may send nothing else")
    if not changed_attrs:
        return
    client.request("PUT", f"/contacts/{seg(contact_id)}", data=dict(changed_attrs))


def contact_delete(client, contact_id: str) -> None:
    client.request("DELETE", f"/contacts/{seg(contact_id)}")


def contact_transfer(client, contact_id: str, owner_id: str) -> None:
    """Give the contact to another agent (also connects an unconnected one). The body holds only OwnerId."""
    if not owner_id:
        raise ValueError("owner_id is required")
    client.request("PUT", f"/contacts/{seg(contact_id)}", data={"OwnerId": str(owner_id)})


def tags_list(client) -> list[str]:
    """Every tag the agent uses, as plain strings."""
    return [t.tag for t in iter_parsed(client, "/contacts/tags", TagRecord.from_api)]


def contacts_by_tag(client, tag: str, *, orderby: Strs = None, select: Strs = None, expand: Strs = None,
                    page: int = 1, limit: int = MAX_PAGE_SIZE) -> Page[ContactRecord]:
    return get_page(client, f"/contacts/tags/{seg(tag)}", ContactRecord.from_api, page=page, limit=limit,
                    params=query(orderby=orderby, select=select, expand=expand))
