"""CSV in and out: the import pages (upload, map and preview, the running job) and the list's exports."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.agents.guards import agent_required
from crm.outbox import bulk as bulk_runner
from crm.safeinput import storable_text
from crm.spark.records import TAG_MAX_LENGTH

from . import bulk, csv_export, csv_import, selectors, services
from .csv_models import CsvImport, CsvImportRow
from .selectors import ContactQuery

PREVIEW_ROWS = 5
LISTED_ROWS = 50


def _import_for_agent(account, pk: int) -> CsvImport:
    try:
        return CsvImport.objects.select_related("job").get(pk=pk, account=account)
    except (CsvImport.DoesNotExist, ValueError, TypeError):
        raise Http404("No such import") from None


# -- import ---------------------------------------------------------------------------------------------------------


@agent_required
@require_http_methods(["GET", "POST"])
def import_upload(request, account):
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = "Choose a CSV file to upload."
        elif upload.size > settings.CSV_IMPORT_MAX_BYTES:
            error = (f"The file is {upload.size / 1_048_576:.1f} MB; an import takes at most "
                     f"{settings.CSV_IMPORT_MAX_BYTES / 1_048_576:.0f} MB. Split it into smaller files.")
        else:
            try:
                imp = csv_import.csv_import_upload(account=account, user=request.user,
                                                   filename=storable_text(upload.name or ""), data=upload.read())
            except csv_import.CsvRefused as exc:
                error = str(exc)
            else:
                return redirect("contacts:import_detail", pk=imp.pk)
    status = 422 if error else 200
    return render(request, "contacts_app/import_upload.html",
                  {"error": error, "max_mb": settings.CSV_IMPORT_MAX_BYTES // 1_048_576,
                   "max_rows": settings.CSV_IMPORT_MAX_ROWS}, status=status)


def _read_options(request, imp: CsvImport) -> list[str]:
    """The mapping, tags and duplicate rule posted; the errors in them (none: they are saved on the import)."""
    mapping = {}
    for i in range(len(imp.headers)):
        name = request.POST.get(f"col_{i}", "")
        if name:
            mapping[str(i)] = name
    tags = []
    for tag in storable_text(request.POST.get("tags", "")).replace(";", ",").split(","):
        if tag.strip() and tag.strip() not in tags:
            tags.append(tag.strip())
    errors = csv_import.mapping_errors(mapping)
    errors += [f"The tag “{t[:30]}…” is longer than {TAG_MAX_LENGTH} characters." for t in tags
               if len(t) > TAG_MAX_LENGTH]
    on_duplicate = request.POST.get("on_duplicate", CsvImport.OnDuplicate.SKIP)
    if on_duplicate not in CsvImport.OnDuplicate.values:
        on_duplicate = CsvImport.OnDuplicate.SKIP
    imp.mapping, imp.tags, imp.on_duplicate = mapping, tags, on_duplicate
    if not errors:
        imp.save(update_fields=["mapping", "tags", "on_duplicate", "updated_at"])
    return errors


@agent_required
@require_http_methods(["GET", "POST"])
def import_detail(request, account, pk: int):
    imp = _import_for_agent(account, pk)
    if imp.job_id:
        return redirect("contacts:import_job", pk=imp.pk)
    busy = imp.state in (CsvImport.State.READING, CsvImport.State.CLASSIFYING)
    if busy and csv_import.csv_import_nudge(imp):
        imp.refresh_from_db()
        busy = imp.state in (CsvImport.State.READING, CsvImport.State.CLASSIFYING)
    errors: list[str] = []
    if request.method == "POST" and imp.state != CsvImport.State.READY:
        errors = ["This file could not be read: upload another." if imp.state == CsvImport.State.REFUSED else
                  "The file is still being read: the preview shows here as soon as it is ready."]
    elif request.method == "POST":
        errors = _read_options(request, imp)
        if not errors:
            if request.POST.get("do") == "run":
                try:
                    csv_import.csv_import_start(imp=imp, user=request.user)
                except services.WriteRefused as exc:
                    errors = [str(exc)]
                else:
                    selectors.tag_list_forget(account=account)
                    return redirect("contacts:import_job", pk=imp.pk)
            else:
                csv_import.csv_import_preview(imp=imp)
                busy = imp.state == CsvImport.State.CLASSIFYING
    rows = imp.rows.order_by("line")
    context = {
        "imp": imp, "errors": errors,
        "columns": [(i, h, imp.mapping.get(str(i), ""),
                     [r.values[i] if i < len(r.values) else "" for r in rows[:3]]) for i, h in enumerate(imp.headers)],
        "fields": [(name, csv_import.field_label(name)) for name in csv_import.FIELDS],
        "sample": [(r.line, [r.values[i] if i < len(r.values) else "" for i in range(len(imp.headers))])
                   for r in rows[:PREVIEW_ROWS]],
        "counts": imp.counts,
        "invalid": rows.filter(action=CsvImportRow.Action.INVALID)[:LISTED_ROWS],
        "duplicates": rows.filter(action__in=[CsvImportRow.Action.SKIP, CsvImportRow.Action.UPDATE])[:LISTED_ROWS],
        "tags_value": ", ".join(imp.tags),
        "on_duplicate_choices": CsvImport.OnDuplicate.choices,
        "busy": busy,
    }
    template = "contacts_app/import_detail.html"
    if request.htmx and request.htmx.target == "import-detail":
        template += "#detail"
    return render(request, template, context, status=422 if errors else 200)


@agent_required
@require_GET
def import_job(request, account, pk: int):
    imp = _import_for_agent(account, pk)
    job = imp.job
    if job is None:
        return redirect("contacts:import_detail", pk=imp.pk)
    progress = bulk_runner.bulk_job_progress(job=job)
    job.refresh_from_db(fields=["status", "total", "failure_reason"])
    show = request.GET.get("show", "")
    rows = imp.rows.order_by("line")
    writes = csv_import.write_statuses(job)

    def described(row):
        outcome, detail = csv_import.row_outcome(row, writes, job)
        return row, outcome, csv_import.OUTCOME_LABELS[outcome], detail

    outcomes = [described(r) for r in rows.iterator(5000)] if show else None
    if show == "problems":
        listed = [o for o in outcomes if o[1] in csv_import.PROBLEM_OUTCOMES]
    elif show:
        listed = [o for o in outcomes if o[1] == show]
    else:
        listed = None
    page_rows = Paginator(listed if listed is not None else rows, LISTED_ROWS).get_page(request.GET.get("page"))
    if listed is None:
        page_rows.object_list = [described(r) for r in page_rows.object_list]
    counts = csv_import.outcome_counts(imp)
    finished = job.status in (job.Status.DONE, job.Status.FAILED) or (
        job.status == job.Status.CANCELLED and not progress.open)
    context = {"imp": imp, "job": job, "progress": progress, "counts": counts, "labels": csv_import.OUTCOME_LABELS,
               "page_rows": page_rows, "show": show, "finished": finished,
               "problems": sum(counts[k] for k in csv_import.PROBLEM_OUTCOMES),
               "running": job.status in (job.Status.PREPARING, job.Status.RUNNING),
               "query": urlencode({"show": show}) if show else ""}
    template = "contacts_app/import_job.html"
    if request.htmx and request.htmx.target == "import-job":
        template += "#job"
    return render(request, template, context)


@agent_required
@require_POST
def import_cancel(request, account, pk: int):
    imp = _import_for_agent(account, pk)
    if imp.job is None:
        raise Http404("No such import")
    taken_back = csv_import.csv_import_cancel(job=imp.job, user=request.user)
    if taken_back is None:
        messages.info(request, "The import had already finished.")
    else:
        messages.success(request, f"Import cancelled: {taken_back} contact change{'s' if taken_back != 1 else ''} "
                                  "not yet sent to flexmls were taken back; what was sent stays.")
    return redirect("contacts:import_job", pk=imp.pk)


@agent_required
@require_GET
def import_failures(request, account, pk: int):
    imp = _import_for_agent(account, pk)
    response = StreamingHttpResponse(csv_import.failures_csv_lines(imp), content_type="text/csv; charset=utf-8")
    stem = (imp.filename.rsplit(".", 1)[0] or "import").replace('"', "")[:80]
    response["Content-Disposition"] = f'attachment; filename="{stem}-problems.csv"'
    response["Cache-Control"] = "no-store"
    return response


# -- export ---------------------------------------------------------------------------------------------------------


def _export(request, account, qs, *, fmt: str, what: dict):
    rows = qs.count()
    csv_export.export_record(user=request.user, account=account, fmt=fmt, what=what, rows=rows)
    if fmt == "vcard":
        return csv_export.vcard_response(qs, filename=csv_export.export_filename("contacts", "vcf"))
    return csv_export.csv_response(qs, filename=csv_export.export_filename("contacts", "csv"))


@agent_required
@require_GET
def export_list(request, account):
    """The list as the page shows it (search, filters, sort), every matching contact."""
    query = ContactQuery.from_params(request.GET)
    fmt = "vcard" if request.GET.get("format") == "vcard" else "csv"
    qs = selectors.contact_list(account=account, query=query)
    return _export(request, account, qs, fmt=fmt, what={"filter": query.as_params()})


@agent_required
@require_POST
def export_selection(request, account):
    """From the list's bulk bar: the selected contacts (or all matching), in the list's sort."""
    fmt = "vcard" if request.POST.get("action") == "export_vcard" else "csv"
    query = ContactQuery.from_params(QueryDict(request.POST.get("query", "")))
    if request.POST.get("all_matching"):
        qs = selectors.contact_list(account=account, query=query)
        what = {"filter": query.as_params()}
    else:
        try:
            ids = [int(x) for x in request.POST.get("ids", "").replace(",", " ").split()][:bulk.MAX_BULK]
        except ValueError:
            ids = []
        if not ids:
            messages.error(request, "Select the contacts to export.")
            return redirect(reverse("contacts:list") + "?" + request.POST.get("query", ""))
        qs = selectors.contact_list(account=account, query=ContactQuery(sort=query.sort)).filter(pk__in=ids)
        what = {"selection": len(ids), "sort": query.sort}
    return _export(request, account, qs, fmt=fmt, what=what)
