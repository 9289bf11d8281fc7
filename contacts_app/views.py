from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .selectors import SORTS, ContactQuery, account_for_user, contact_list, sync_state_get


@login_required
@require_GET
def contacts_list(request):
    account = account_for_user(request.user)
    if account is None:
        return render(request, "contacts_app/not_linked.html", status=200)
    query = ContactQuery(q=request.GET.get("q", "")[:200], sort=request.GET.get("sort", "name"))
    if query.sort not in SORTS:
        query = ContactQuery(q=query.q)
    paginator = Paginator(contact_list(account=account, query=query), settings.CONTACTS_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "account": account,
        "query": query,
        "page": page,
        "sync": sync_state_get(account=account),
    }
    template = "contacts_app/contact_list.html"
    if request.htmx and request.htmx.target == "results":
        template += "#results"
    return render(request, template, context)
