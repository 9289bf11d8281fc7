"""Merging two duplicates: the side-by-side page (survivor, a value per differing field, the blast-radius
preview), queueing the merge, and the page that offers Undo until the merge goes to flexmls; undoing a bulk merge
(its job page offers it)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from crm.agents.guards import agent_required
from crm.outbox.models import BulkJob, SparkWrite
from crm.outbox.queue import WriteRefused

from . import bulk_merge, merge, selectors
from .duplicate_models import DuplicateGroup
from .models import LIST_ROWS, Contact


def _pk(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("No such contact") from None


def _visible(account, pk: int) -> Contact:
    """The agent's own contact, not hidden by a delete or merge on its way (another agent's is a 404)."""
    contact = selectors.contact_get_for_agent(account=account, pk=pk)
    if contact.pending_delete:
        raise Http404("No such contact")
    return contact


@agent_required
@require_http_methods(["GET", "POST"])
def merge_pair(request, account):
    data = request.POST if request.method == "POST" else request.GET
    a, b = _pk(data.get("a")), _pk(data.get("b"))
    if a == b:
        raise Http404("No such pair")
    first, second = _visible(account, a), _visible(account, b)
    survivor_pk = _pk(data.get("survivor") or a)
    if survivor_pk not in (a, b):
        raise Http404("No such contact")
    survivor, other = (first, second) if survivor_pk == a else (second, first)
    keep = {name: "other" for name in merge.CHOSEN_FIELDS if data.get(f"keep_{name}") == "other"}
    error = ""
    if request.method == "POST":
        try:
            write = merge.contact_merge(account=account, user=request.user, survivor_pk=survivor.pk,
                                        other_pk=other.pk, keep=keep)
        except WriteRefused as exc:
            error = str(exc)
        except Contact.DoesNotExist:  # deleted or merged away between the page's read and the lock
            raise Http404("No such contact") from None
        else:
            return redirect("contacts:merge_status", pk=write.pk)
    plan = merge.merge_plan(survivor, other, keep)
    context = {
        "a": first, "b": second, "pair": (first, second), "plan": plan, "error": error or " ".join(plan.errors),
        "radius": merge.merge_blast_radius(other, survivor), "portal": merge.portal_account(other), "undo_s": settings.UNDO_WINDOW_S,
        "swap_url": reverse("contacts:merge") + "?" + urlencode({"a": a, "b": b, "survivor": other.pk}),
    }
    return render(request, "contacts_app/merge.html", context, status=422 if error else 200)


MERGE_WITH_RESULTS = 20


@agent_required
@require_http_methods(["GET"])
def merge_with(request, account, pk: int):
    """"Merge with…" from a contact's page, for the duplicates the finder cannot see (another e-mail, a maiden name):
    the finder's suggestions for this contact, and the list's own search over the agent's contacts to pick the other
    one. Picking one opens the side-by-side merge with this contact kept."""
    contact = _visible(account, pk)
    query = selectors.ContactQuery.from_params({"q": request.GET.get("q", "")})
    results = []
    if query.q.strip():
        results = list(selectors.contact_list(account=account, query=query).exclude(pk=contact.pk)
                       .only("pk", "display_name", "primary_email", "primary_phone")[:MERGE_WITH_RESULTS + 1])
    context = {"contact": contact, "q": query.q, "results": results[:MERGE_WITH_RESULTS],
               "more": len(results) > MERGE_WITH_RESULTS}
    if request.htmx:
        return render(request, "contacts_app/merge_with.html#results", context)
    groups = DuplicateGroup.objects.filter(account=account, contact_ids__contains=[contact.pk]).order_by("-best")[:5]
    reasons = {i: g.reasons for g in groups for i in g.contact_ids if i != contact.pk}
    suggested = Contact.objects.filter(LIST_ROWS, owner=account, pk__in=list(reasons)).only(
        "pk", "display_name", "primary_email", "primary_phone").order_by("display_name", "pk")
    context["suggested"] = [(c, reasons[c.pk]) for c in suggested]
    return render(request, "contacts_app/merge_with.html", context)


@agent_required
@require_http_methods(["GET"])
def merge_status(request, account, pk: int):
    write = selectors.write_get_for_agent(account=account, pk=pk)
    if write.kind != SparkWrite.Kind.MERGE:
        raise Http404("No such merge")
    undoable = write.status == SparkWrite.Status.QUEUED and write.attempts == 0
    template = "contacts_app/merge_status.html"
    if request.htmx:
        template += "#status"
    return render(request, template, {"write": write, "undoable": undoable})


@agent_required
@require_POST
def merge_undo(request, account, pk: int):
    write = selectors.write_get_for_agent(account=account, pk=pk)
    if write.kind != SparkWrite.Kind.MERGE:
        raise Http404("No such merge")
    if merge.contact_merge_undo(account=account, user=request.user, write=write):
        messages.success(request, f"Undone: {write.payload.get('other_name', '')} and {write.contact_name} were "
                                  "not merged.")
    else:
        messages.error(request, "Too late to undo: the merge has already gone to flexmls.")
    return redirect("contacts:merge_status", pk=write.pk)


@agent_required
@require_POST
def bulk_merge_undo(request, account, pk: int):
    """"Undo all" within the job's undo window; after it, "Stop": the merges not yet sent are taken back."""
    job = selectors.bulk_job_get_for_agent(account=account, pk=pk)
    if job.kind != BulkJob.Kind.MERGE:
        raise Http404("No such bulk merge")
    taken = bulk_merge.bulk_merge_undo(account=account, user=request.user, job=job)
    job.refresh_from_db(fields=["status"])
    sent = job.writes.exclude(status=SparkWrite.Status.CANCELLED).count()
    if taken is None:
        messages.error(request, "Nothing to undo: this bulk merge has finished.")
    elif job.status != BulkJob.Status.CANCELLED:
        messages.error(request, "Too late to undo: every merge had already gone to flexmls.")
    elif not sent:
        messages.success(request, "Undone: nothing was sent to flexmls, and every contact is as it was.")
    else:
        messages.warning(request, f"Stopped: {taken} merge{pluralize(taken)} not yet sent taken back, and no more "
                                  f"groups are merged; {sent} had already gone to flexmls and stay merged.")
    return redirect("contacts:job", pk=job.pk)
