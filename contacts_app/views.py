"""Contacts workspace views: authorize (the agent's own objects only), validate (forms), call a service."""

from __future__ import annotations

import functools
import time

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from crm.agents.guards import agent_required

from . import selectors, selectors_writes, services
from .forms import FIELD_GROUPS, ContactForm, TagForm, TransferForm, transfer_choices, transfer_targets_note
from .models import Contact
from .selectors import BANDS, SORT_LABELS, STATUSES, ContactQuery
from .views_bulk import SHARE_MAX_CONTACTS


def _is_partial(request, target: str) -> bool:
    return bool(request.htmx) and request.htmx.target == target


def list_page(request, account, query: ContactQuery, *, rows: bool = True):
    """The page of the list asked for: its total from the per-agent count when no filter narrows it, and its rows
    with only the columns a row shows (and the states of refused rows, read for the page at once)."""
    paginator = selectors.CountedPaginator(selectors.contact_rows(account=account, query=query),
                                           settings.CONTACTS_PAGE_SIZE,
                                           count=selectors.contact_list_count(account=account, query=query))
    page = paginator.get_page(request.GET.get("page"))
    if rows:
        page.object_list = selectors.contact_rows_with_states(page.object_list)
    return page


@agent_required
@require_GET
def contacts_list(request, account):
    query = ContactQuery.from_params(request.GET)
    page = list_page(request, account, query)
    undo = request.session.get("undo")
    if undo and undo["until"] < time.time():
        request.session.pop("undo", None)
        undo = None
    context = {
        "account": account,
        "query": query,
        "query_string": urlencode(query.as_params()),
        "page": page,
        "sync": selectors.agent_overview(account=account).sync,
        "tags": selectors.tag_list(account=account),
        "sorts": SORT_LABELS,
        "bands": {k: v[0] for k, v in BANDS.items()},
        "statuses": STATUSES,
        "undo": undo,
        "transfer_targets": SimpleLazyObject(functools.partial(transfer_choices, account)),
        "transfer_note": functools.partial(transfer_targets_note, account),  # asked only when no one is listed
        "share_max": SHARE_MAX_CONTACTS,
    }
    template = "contacts_app/contact_list.html"
    if _is_partial(request, "results"):
        template += "#results"
    return render(request, template, context)


@agent_required
@require_GET
def contact_detail(request, account, pk: int):
    contact = selectors.contact_with_activity_get_for_agent(account=account, pk=pk)
    activity = getattr(contact, "activity", None)
    refreshing = False
    stale = activity is None or activity.fetched_at is None or (
        time.time() - activity.fetched_at.timestamp() > settings.ACTIVITY_MAX_AGE_S
    )
    if stale and contact.spark_id:
        services.contact_activity_refresh_queue(contact=contact)
        refreshing = True
    context = _detail_context(account, contact)
    context.update(activity=activity, refreshing=refreshing)
    return render(request, "contacts_app/contact_detail.html", context)


def _detail_context(account, contact: Contact) -> dict:
    return {
        "account": account,
        "contact": contact,
        "groups": [
            (title, [(label, contact.attributes.get(name)) for name, label in fields if contact.attributes.get(name)])
            for title, fields in FIELD_GROUPS
        ],
        # An untouched contact (no change made here: no writes, no audit events, as its query says) reads neither.
        "writes": selectors_writes.contact_writes(contact=contact)[:20] if getattr(contact, "has_writes", True) else [],
        "history": selectors_writes.contact_history(contact=contact) if getattr(contact, "has_history", True) else [],
        "tags": selectors.tag_list(account=account),
        "tag_form": TagForm(),
        "transfer_form": TransferForm(account=account),
    }


@agent_required
@require_GET
def contact_activity(request, account, pk: int):
    contact = selectors.contact_with_activity_get_for_agent(account=account, pk=pk)
    activity = getattr(contact, "activity", None)
    refreshing = request.GET.get("waiting") == "1" and (activity is None or activity.fetched_at is None)
    return render(request, "contacts_app/contact_detail.html#activity",
                  {"contact": contact, "activity": activity, "refreshing": refreshing})


@agent_required
@require_http_methods(["GET", "POST"])
def contact_create(request, account):
    form = ContactForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        attrs = form.attributes()
        contact = services.contact_create(account=account, user=request.user, attributes=attrs)
        messages.success(request, f"{contact.display_name} was added; sending to flexmls.")
        return redirect("contacts:detail", pk=contact.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "contacts_app/contact_form.html", {"form": form, "creating": True}, status=status)


@agent_required
@require_http_methods(["GET", "POST"])
def contact_edit(request, account, pk: int):
    contact = selectors.contact_get_for_agent(account=account, pk=pk)
    initial = {name: contact.attributes.get(name, "") for name in ContactForm().fields}
    initial["DisplayName"] = contact.display_name
    form = ContactForm(request.POST or None, initial=initial, account=account, contact=contact)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data.get(name) or "" for name in form.changed_data}
        write = services.contact_update(account=account, user=request.user, contact=contact, changes=changes)
        if write is None:
            messages.info(request, "Nothing changed.")
        else:
            messages.success(request, f"Saved {contact.display_name}; sending to flexmls.")
        return redirect("contacts:detail", pk=contact.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "contacts_app/contact_form.html", {"form": form, "contact": contact}, status=status)
