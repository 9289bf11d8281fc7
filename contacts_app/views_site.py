"""Site-wide pages in the app's layout: the error pages (crm/urls.py's handler403/404/500)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from crm.agents.guards import account_for_user

from . import selectors_writes


def page_not_found(request, exception=None):
    """404 in the app's layout. A contact this agent transferred, deleted or merged says where it went, and when."""
    context = {"gone": None}
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    if (match is not None and match.namespace == "contacts" and "pk" in match.kwargs
            and match.url_name in ("detail", "edit", "row", "activity") and user is not None
            and user.is_authenticated):
        account = account_for_user(user)
        if account is not None:
            context["gone"] = selectors_writes.contact_gone_note(account=account, pk=match.kwargs["pk"])
    return render(request, "404.html", context, status=404)


def permission_denied(request, exception=None):
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def server_error(request):
    """500 without relying on the request (the database may be what failed): the layout with safe defaults."""
    from django.middleware.csrf import get_token
    from django.template import loader

    template = loader.get_template("500.html")
    try:
        user = request.user if getattr(request, "user", None) is not None and request.user.is_authenticated else None
        html = template.render({"user": user, "request": request, "csrf_token": get_token(request)})
    except Exception:
        html = template.render({})
    return HttpResponse(html, status=500)
