"""The agent's changes to a contact (tags, transfer, connect, delete, undo) and decisions on refused changes."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm.agents.guards import agent_required
from crm.outbox.models import SparkWrite
from crm.safeinput import local_next

from . import selectors, selectors_writes, services
from .forms import TagForm, TransferForm
from .models import Contact


@agent_required
@require_POST
def contact_delete(request, account, pk: int):
    contact = selectors.contact_get_for_agent(account=account, pk=pk)
    write = services.contact_delete(account=account, user=request.user, contact=contact)
    request.session["undo"] = {"write": write.pk, "name": contact.display_name,
                               "until": time.time() + settings.UNDO_WINDOW_S}
    return redirect("contacts:list")


@agent_required
@require_POST
def write_undo(request, account, pk: int):
    write = selectors_writes.write_get_for_agent(account=account, pk=pk)
    request.session.pop("undo", None)
    if services.contact_delete_undo(account=account, user=request.user, write=write):
        messages.success(request, f"{write.contact_name} was not deleted.")
    else:
        messages.error(request, f"Too late to undo: the delete of {write.contact_name} has already gone to flexmls.")
    return redirect(_back(request, reverse("contacts:list")))


def _tags_response(request, account, contact: Contact, form: TagForm | None = None, status: int = 200):
    contact.refresh_from_db()
    context = {"contact": contact, "tags": selectors.tag_list(account=account), "tag_form": form or TagForm()}
    template = request.POST.get("fragment") == "row" and "contacts_app/_row.html" or "contacts_app/_tags.html"
    return render(request, template, {**context, "c": contact, "tags_all": context["tags"]}, status=status)


@agent_required
@require_POST
def contact_tag_add(request, account, pk: int):
    contact = selectors.contact_get_for_agent(account=account, pk=pk)
    form = TagForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return _tags_response(request, account, contact, form, status=422)
        messages.error(request, "; ".join(form.errors.get("tag", ["The tag is not valid."])))
        return redirect("contacts:detail", pk=pk)
    try:
        services.contact_tag_add(account=account, user=request.user, contact=contact, tag=form.cleaned_data["tag"])
    except services.WriteRefused as exc:
        messages.error(request, str(exc))
    selectors.tag_list_forget(account=account)
    if request.htmx:
        return _tags_response(request, account, contact)
    return redirect("contacts:detail", pk=pk)


@agent_required
@require_POST
def contact_tag_remove(request, account, pk: int):
    contact = selectors.contact_get_for_agent(account=account, pk=pk)
    tag = request.POST.get("tag", "")
    if tag in contact.tags:
        services.contact_tag_remove(account=account, user=request.user, contact=contact, tag=tag)
        selectors.tag_list_forget(account=account)
    if request.htmx:
        return _tags_response(request, account, contact)
    return redirect("contacts:detail", pk=pk)


@agent_required
@require_POST
def contact_transfer(request, account, pk: int):
    contact = selectors.contact_get_for_agent(account=account, pk=pk)
    form = TransferForm(request.POST, account=account)
    if form.is_valid():
        try:
            services.contact_transfer(account=account, user=request.user, contact=contact,
                                      owner_id=form.cleaned_data["owner_id"], owner_name=form.owner_name())
            messages.success(request, f"Transferring {contact.display_name} to {form.owner_name()}; "
                                      "the contact leaves your list once flexmls confirms.")
        except services.WriteRefused as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "Choose one of the agents you may transfer to.")
    return redirect("contacts:detail", pk=pk)


@agent_required
@require_POST
def contact_connect(request, account, pk: int):
    contact = selectors.contact_get_for_agent(account=account, pk=pk)
    try:
        services.contact_connect(account=account, user=request.user, contact=contact)
        messages.success(request, f"Connecting {contact.display_name}.")
    except services.WriteRefused as exc:
        messages.error(request, str(exc))
    return redirect(_back(request, reverse("contacts:detail", args=[pk])))


@agent_required
@require_POST
def write_retry(request, account, pk: int):
    write = selectors_writes.write_get_for_agent(account=account, pk=pk)
    if not write.retryable:
        messages.error(request, f"flexmls would refuse “{write.describe()}” again ({write.spark_message}); "
                                "discard it instead.")
        return redirect(_back(request))
    if services.write_retry(account=account, user=request.user, write=write):
        messages.success(request, f"Sending “{write.describe()}” for {write.contact_name} again.")
    else:
        messages.info(request, "That change is no longer waiting for a decision.")
    return redirect(_back(request))


@agent_required
@require_POST
def write_discard(request, account, pk: int):
    write = selectors_writes.write_get_for_agent(account=account, pk=pk)
    reason = request.POST.get("reason", "")[:500]
    if services.write_discard(account=account, user=request.user, write=write, reason=reason):
        if write.kind == SparkWrite.Kind.CREATE and not Contact.objects.filter(pk=write.contact_id).exists():
            # The contact only ever existed here; its page is gone with it.
            messages.success(request, f"Discarded {write.contact_name}: flexmls never created this contact, "
                                      "so it is gone from your list.")
            return redirect("contacts:list")
        messages.success(request, f"Discarded “{write.describe()}” for {write.contact_name}; "
                                  "the contact shows what flexmls has.")
    else:
        messages.info(request, "That change is no longer waiting for a decision.")
    return redirect(_back(request))


def _back(request, default: str | None = None) -> str:
    """The posted `next` if it is a path on this site, else `default` (the attention list)."""
    return local_next(request, default or reverse("contacts:attention"))


@agent_required
@require_GET
def attention(request, account):
    return render(request, "contacts_app/attention.html",
                  {"writes": selectors_writes.failed_writes(account=account).select_related("contact")})
