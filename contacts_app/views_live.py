"""Fragments polled only while the page waits for flexmls: a list row, the contact's pending parts, the list's count."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from crm.agents.guards import agent_required

from . import selectors, selectors_writes
from .selectors import ContactQuery
from .views import list_page

HTMX_STOP_POLLING = 286  # htmx stops an `every` trigger when the answer has this status


@agent_required
@require_GET
def contact_row(request, account, pk: int):
    try:
        contact = selectors.contact_get_for_agent(account=account, pk=pk)
    except Http404:
        if not request.htmx:
            raise
        # Gone from the list (deleted, transferred away): the row goes, and its polling stops. The same empty
        # answer for any id that is not the agent's, so it tells nothing about other agents' contacts.
        return HttpResponse("", status=HTMX_STOP_POLLING)
    return render(request, "contacts_app/_row.html", {"c": contact})


@agent_required
@require_GET
def contact_live(request, account, pk: int):
    """The contact page's pending parts (state mark, tag chips, refusals, history) as they stand now."""
    try:
        contact = selectors.contact_with_activity_get_for_agent(account=account, pk=pk)
    except Http404:
        if not request.htmx:
            raise
        response = HttpResponse("", status=HTMX_STOP_POLLING)
        response["HX-Redirect"] = reverse("contacts:list")
        return response
    context = {"contact": contact, "writes": selectors_writes.contact_writes(contact=contact)[:20],
               "history": selectors_writes.contact_history(contact=contact)}
    return render(request, "contacts_app/contact_detail.html#live_update", context)


@agent_required
@require_GET
def contacts_list_meta(request, account):
    """The list's count and sync line, polled while a sync runs; once it settles with news, the rows follow."""
    query = ContactQuery.from_params(request.GET)
    page = list_page(request, account, query, rows=False)
    paginator = page.paginator
    sync = selectors.agent_overview(account=account).sync
    settled = sync is not None and sync.status != sync.Status.RUNNING
    # What the rows on the page were rendered from: how many shown, of how many, and when.
    try:
        baseline = {"shown": int(request.GET.get("shown", 0)), "n": int(request.GET.get("n", -1)),
                    "t": int(request.GET.get("t", 0))}
        dt.datetime.fromtimestamp(baseline["t"], tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        baseline = {"shown": 0, "n": -1, "t": 0}
    reload_rows = offer_reload = False
    if not baseline["shown"] and page.object_list:
        reload_rows = True  # nothing on the page to lose: show the first contacts as soon as they arrive
    elif settled and (paginator.count != baseline["n"] or selectors.contacts_changed_since(
            account=account, since=dt.datetime.fromtimestamp(baseline["t"], tz=dt.UTC))):
        # Rows the agent may be working on never change under them: they are offered the new state instead.
        offer_reload = True
    context = {"account": account, "page": page, "sync": sync, "query_string": urlencode(query.as_params()),
               "reload_rows": reload_rows, "offer_reload": offer_reload, "baseline": baseline}
    response = render(request, "contacts_app/contact_list.html#meta", context)
    if reload_rows:
        response["HX-Trigger"] = "contactsChanged"
    return response
