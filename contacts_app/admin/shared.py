"""The broker's "Clients held by two or more agents" page (contacts_app.shared_clients), under Contacts."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from crm.outbox.queue import WriteRefused

from .. import people, shared_clients
from .base import _perm

URL_NAME = "contacts_app_contact_shared"
TITLE = "Clients held by two or more agents"


def _int(value, default: int | None = None) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return number if 0 < number < 2**62 else default


def shared_clients_view(model_admin, request):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    scope = people.office_scope_for(request.user)
    may_resolve = _perm(request, "transfer_contact")
    if request.method == "POST":
        if not may_resolve:
            raise PermissionDenied
        if request.POST.get("resolve") == "refresh":
            shared_clients.shared_keys_refresh_queue()
            model_admin.message_user(request, "Checking every agent's contacts again; reload in a few seconds.",
                                     messages.INFO)
            return HttpResponseRedirect(reverse(f"admin:{URL_NAME}"))
        group = shared_clients.shared_group_get(scope=scope, kind=request.POST.get("kind", ""),
                                                key=request.POST.get("key", ""))
        if group is None:
            raise Http404("No such group of contacts in your office.")
        back = request.POST.get("page", "")
        url = reverse(f"admin:{URL_NAME}") + (f"?page={_int(back)}" if _int(back) else "")
        if request.POST.get("resolve") == "intended":
            shared_clients.shared_group_mark_intended(user=request.user, group=group)
            model_admin.message_user(request, f"Marked as intended: {group.kind_label.lower()} {group.key}, held by "
                                              f"{', '.join(a.name for a in group.agents)}.", messages.SUCCESS)
            return HttpResponseRedirect(url)
        if request.POST.get("resolve") == "transfer":
            try:
                job = shared_clients.shared_contact_transfer(user=request.user, group=group,
                                                             contact_id=_int(request.POST.get("contact")),
                                                             target_id=_int(request.POST.get("target")))
            except WriteRefused as exc:
                model_admin.message_user(request, f"Not transferred: {exc}", messages.ERROR)
                return HttpResponseRedirect(url)
            job_url = reverse("admin:outbox_bulkjob_change", args=[job.pk])
            model_admin.message_user(request, format_html(
                'Transferring {} to {}: <a href="{}">follow the transfer</a> (its news feed schedules are recreated '
                "for the new owner).", next(c.display_name for c in group.contacts if c.pk in job.contact_ids),
                job.params["owner_name"], job_url), messages.SUCCESS)
            return HttpResponseRedirect(url)
        model_admin.message_user(request, "Choose mark as intended or a transfer.", messages.ERROR)
        return HttpResponseRedirect(url)
    check = shared_clients.shared_check_get()
    if check is None or check.checked_at is None and check.requested_at is None:
        shared_clients.shared_keys_refresh_queue()  # the first visit ever: the worker checks the store
        check = shared_clients.shared_check_get()
    page = shared_clients.shared_group_list(scope=scope, page=_int(request.GET.get("page"), 1))
    return TemplateResponse(request, "admin/contacts_app/shared_clients.html", {
        **model_admin.admin_site.each_context(request), "title": TITLE, "opts": model_admin.model._meta,
        "page": page, "scope": scope, "may_resolve": may_resolve, "check": check,
    })
