"""Shared links pages: authorize (the agent's own objects only), validate (forms), call a service. Pages read the
store only; an old cache queues a refresh."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from contacts_app.selectors import contact_get_for_agent
from crm.agents.guards import agent_required
from crm.outbox.queue import WriteRefused

from . import selectors, services, sync
from .forms import SharedLinkForm
from .models import MAX_LISTINGS, SharedLink

LIST_PAGE = 50


def _int_list(values) -> list[int]:
    out = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part.isdigit() and len(part) < 19:
                out.append(int(part))
    return out


@agent_required
@require_GET
def index(request, account):
    contact = None
    if request.GET.get("contact"):
        contact = contact_get_for_agent(account=account, pk=request.GET["contact"])
    sync.sharing_refresh_if_old(account=account)
    links = selectors.shared_link_list(account=account, contact=contact)
    page = Paginator(links, LIST_PAGE).get_page(request.GET.get("page"))
    return render(request, "sharing_app/index.html", {
        "page": page, "contact": contact, "filter_contacts": selectors.link_contacts_choices(account=account),
    })


def _picker_context(account, data) -> dict:
    """The listing picker: the chosen listings first (kept across searches), then matches from the cache."""
    chosen_ids = list(dict.fromkeys(data.getlist("listings")))
    query = selectors.ListingQuery.from_params(data)
    chosen = selectors.listings_by_ids(chosen_ids[:MAX_LISTINGS + 50])
    results = selectors.listing_search(query=query, exclude=chosen_ids)
    return {
        "chosen_listings": chosen, "chosen_count": len(chosen_ids), "listing_results": results[:selectors.PICKER_PAGE],
        "listing_total": results.count(), "listing_query": query, "max_listings": MAX_LISTINGS,
        "statuses": selectors.LISTING_STATUSES,
    }


def _contact_picker_context(account, data, chosen_pks: list[int]) -> dict:
    chosen = selectors.contacts_for_agent(account=account, pks=chosen_pks)
    return {
        "chosen_contacts": chosen,
        "contact_results": selectors.contact_search(account=account, q=data.get("contact_q", ""),
                                                     exclude=[c.pk for c in chosen]),
        "contact_q": data.get("contact_q", "")[:200],
    }


@agent_required
@require_http_methods(["GET", "POST"])
def new(request, account):
    sync.sharing_refresh_if_old(account=account)
    if request.method == "POST" and "find" not in request.POST:
        form = SharedLinkForm(request.POST, account=account)
        if form.is_valid():
            data = form.cleaned_data
            try:
                link = services.shared_link_create(
                    account=account, user=request.user,
                    listing_ids=data["listings"] if data["what"] == "listings" else [],
                    saved_search=data["saved_search"] if data["what"] == "search" else None,
                    contacts=data["contacts"], link_type=data["link_type"], mode=data["mode"])
            except WriteRefused as exc:
                form.add_error(None, str(exc))
            else:
                # The link's page says it is being created, until it is live (no message left behind).
                return redirect("sharing:detail", pk=link.pk)
        status = 422
        chosen_pks = _int_list(request.POST.getlist("contacts"))
        data = request.POST
    else:
        data = request.POST if request.method == "POST" else request.GET
        chosen_pks = _int_list(data.getlist("contacts") + data.getlist("contact"))
        initial = {"link_type": data.get("link_type") or (
                       SharedLink.Type.DIRECT if chosen_pks else SharedLink.Type.INDIRECT),
                   "what": data.get("what") or "listings", "mode": data.get("mode", "")}
        if data.get("saved_search"):
            initial["saved_search"] = data.get("saved_search")
        form = SharedLinkForm(initial=initial, account=account)
        status = 200
    context = {"form": form, **_picker_context(account, data), **_contact_picker_context(account, data, chosen_pks),
               "what": data.get("what") or form["what"].value() or "listings",
               "saved_searches": selectors.saved_search_list(account=account)}
    return render(request, "sharing_app/new.html", context, status=status)


@agent_required
@require_GET
def picker(request, account):
    """The listing picker's results, for htmx (the form is included, so chosen listings stay chosen)."""
    return render(request, "sharing_app/new.html#picker", _picker_context(account, request.GET))


@agent_required
@require_GET
def contact_picker(request, account):
    chosen = _int_list(request.GET.getlist("contacts"))
    return render(request, "sharing_app/new.html#contact_picker",
                  _contact_picker_context(account, request.GET, chosen))


@agent_required
@require_GET
def detail(request, account, pk: int):
    link = selectors.shared_link_get_for_agent(account=account, pk=pk)
    context = {
        "link": link, "listings": selectors.listings_by_ids(link.listing_ids),
        "contacts": list(link.contacts.order_by("display_name")),
    }
    known = {x.spark_id for x in context["listings"]}
    context["uncached"] = [i for i in link.listing_ids if i not in known]
    if request.htmx and request.htmx.target == "link-status":
        return render(request, "sharing_app/detail.html#status", context)
    return render(request, "sharing_app/detail.html", context)
