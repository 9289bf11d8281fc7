"""Bulk actions on the list's selection: starting one (a job, or a hand-off) and the job's polled page."""

from __future__ import annotations

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from crm.agents.guards import agent_required
from crm.outbox import bulk as bulk_runner
from crm.outbox.models import BulkJob

from . import bulk, selectors, selectors_writes, services
from .forms import BulkForm, transfer_targets
from .selectors import ContactQuery

SHARE_MAX_CONTACTS = 500  # the share form's own limit


@agent_required
@require_POST
def bulk_start(request, account):
    if request.POST.get("action", "").startswith("export_"):  # a download of the selection, not a job
        from .views_csv import export_selection
        return export_selection(request)
    form = BulkForm(request.POST)
    back = reverse("contacts:list") + "?" + request.POST.get("query", "")
    if not form.is_valid():
        errors = [e for errs in form.errors.values() for e in errs]
        messages.error(request, " ".join(errors))
        return redirect(back)
    data = form.cleaned_data
    query = ContactQuery.from_params(QueryDict(request.POST.get("query", "")))
    if data["all_matching"]:
        ids = list(selectors.contact_list(account=account, query=query).values_list("pk", flat=True)[:bulk.MAX_BULK])
    else:
        ids = data["ids"]
    if data["action"] == "share":
        if len(ids) > SHARE_MAX_CONTACTS:
            messages.error(request, f"A shared link goes to at most {SHARE_MAX_CONTACTS} contacts; "
                                    f"{len(ids)} are selected. Narrow the filter or pick the contacts.")
            return redirect(back)
        return redirect(reverse("sharing:new") + "?" + urlencode({"contacts": ",".join(map(str, ids))}))
    if data["action"] == "newsfeed_schedule":
        # The news feed page picks the contacts itself: those selected, or every one matching the list's filter.
        carried = {"matching": urlencode(query.as_params())} if data["all_matching"] \
            else {"contacts": ",".join(map(str, ids))}
        return redirect(reverse("newsfeeds:bulk") + "?" + urlencode(carried) + "#schedule-bulk")
    params = {}
    if data["action"] in ("tag_add", "tag_remove"):
        params["tag"] = data["tag"]
    if data["action"] == "transfer":
        target = transfer_targets(account).filter(spark_user_id=data["owner_id"]).first()
        if target is None:
            messages.error(request, "Choose one of the agents you may transfer to.")
            return redirect(back)
        params.update(owner_id=target.spark_user_id, owner_name=target.name)
    try:
        job = bulk.bulk_job_start(account=account, user=request.user, kind=data["action"], contact_ids=ids,
                                  params=params)
    except services.WriteRefused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    selectors.tag_list_forget(account=account)
    return redirect("contacts:job", pk=job.pk)


# Failures first (with Spark's message), then what is still on its way, then what went through.
@agent_required
@require_GET
def bulk_job(request, account, pk: int):
    job = selectors_writes.bulk_job_get_for_agent(account=account, pk=pk)
    progress = bulk_runner.bulk_job_progress(job=job)
    context = {"job": job, "progress": progress, "results": bulk_runner.bulk_job_results(job=job),
               "preparing": job.status == BulkJob.Status.PREPARING,
               "back_url": reverse("contacts:list"), "back_label": "Contacts",
               "poll_url": reverse("contacts:job", args=[job.pk])}
    if job.kind == BulkJob.Kind.MERGE:
        context.update(back_url=reverse("contacts:duplicates"), back_label="Possible duplicates")
    template = "outbox/bulk_job.html"
    if request.htmx and request.htmx.target == "job":
        template += "#job"
    response = render(request, template, context)
    if progress.done:
        response["HX-Trigger"] = "jobDone"
    return response
