"""News feed schedule views: authorize (the agent's own feeds only), validate (forms), call a service."""

from __future__ import annotations

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from contacts_app.selectors import ContactQuery, contact_list
from crm.agents.guards import agent_required
from crm.outbox import bulk as bulk_runner
from crm.outbox.models import BulkJob
from crm.outbox.queue import WriteRefused
from crm.safeinput import local_next

from . import bulk, selectors, services
from .forms import BulkScheduleForm, ScheduleForm
from .schedules import ScheduleChoice
from .sync import newsfeeds_refresh_if_stale


def feed_form(fv: selectors.FeedView, data=None) -> ScheduleForm:
    prefix = f"f{fv.feed.pk}"
    row = fv.own.row if fv.own else None
    webhook = row.webhook_id if row else ""
    if data is not None:
        return ScheduleForm(data, prefix=prefix, webhook_id=webhook)
    return ScheduleForm.for_choice(row.choice if row and not row.pending_delete else None, prefix=prefix,
                                   webhook_id=webhook)


def _bulk_form(account, data=None, chosen: list[int] | None = None) -> BulkScheduleForm:
    choices = [(c.pk, f"{c.display_name} ({n} feed{'s' if n != 1 else ''})")
               for c, n in selectors.contacts_with_feeds(account=account)]
    if data is not None:
        return BulkScheduleForm(data, prefix="bulk", contact_choices=choices)
    known = {pk for pk, _ in choices}
    initial = {"contacts": [pk for pk in chosen if pk in known]} if chosen else None
    return BulkScheduleForm(prefix="bulk", contact_choices=choices, initial=initial)


def _index_context(request, account, bulk_form=None, **extra) -> dict:
    feeds = selectors.newsfeed_list(account=account)
    return {
        "account": account,
        "feeds": feeds,
        "default": selectors.schedule_view(selectors.default_schedule_get(account=account)),
        "bulk_form": bulk_form or _bulk_form(account),
        "sync": selectors.sync_state(account=account),
        "refreshing": newsfeeds_refresh_if_stale(account=account),
        **extra,
    }


@agent_required
@require_GET
def index(request, account):
    return render(request, "newsfeeds_app/index.html", _index_context(request, account))


@agent_required
@require_http_methods(["GET", "POST"])
def default_schedule(request, account):
    row = selectors.default_schedule_get(account=account)
    webhook = row.webhook_id if row else ""
    form = ScheduleForm.for_choice(row.choice if row and not row.pending_delete else None, prefix="default",
                                   webhook_id=webhook)
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            # A double click, or a second tab: the schedule is already gone, which is what the agent wanted.
            try:
                services.default_schedule_remove(account=account, user=request.user)
                messages.success(request, "Default schedule removal sent to flexmls.")
            except WriteRefused as exc:
                messages.info(request, str(exc))
            return redirect("newsfeeds:default_schedule")
        try:
            form = ScheduleForm(request.POST, prefix="default", webhook_id=webhook)
            if form.is_valid():
                services.default_schedule_set(account=account, user=request.user, choice=form.choice)
                messages.success(request, "Default schedule saved; sending it to flexmls.")
                return redirect("newsfeeds:default_schedule")
            status = 422
        except WriteRefused as exc:
            form.add_error(None, str(exc))
            status = 422
        row = selectors.default_schedule_get(account=account)
    newsfeeds_refresh_if_stale(account=account)
    context = {"account": account, "default": selectors.schedule_view(row), "form": form,
               "preview": _preview_for(form), "feed_count": len(selectors.newsfeed_list(account=account))}
    return render(request, "newsfeeds_app/default_schedule.html", context, status=status)


def _preview_for(form: ScheduleForm) -> selectors.ScheduleView | None:
    if form.is_bound:
        return selectors.choice_preview(form.cleaned_data["choice"]) if form.is_valid() else None
    initial = form.initial
    choice = ScheduleChoice.build(initial.get("frequency", "Instant"), initial.get("hours"),
                                  initial.get("days_of_week"), initial.get("days_of_month"))
    return selectors.choice_preview(choice)


def _safe_next(request) -> str | None:
    """The `next` the feed form came with, if it is a path on this site."""
    return local_next(request, "") or None


def _feed_schedule_remove(request, account, feed) -> str:
    """The notice for a removal. The only refusal is a feed without a schedule of its own (a double click, or a
    feed on the default): said as a notice, since there is no form here to carry an error."""
    try:
        services.feed_schedule_remove(account=account, user=request.user, feed=feed)
    except WriteRefused:
        return "That feed had no schedule of its own; it already uses your default schedule."
    return "Own schedule removed; this feed falls back to your default schedule."


@agent_required
@require_http_methods(["GET", "POST"])
def feed_schedule(request, account, pk: int):
    feed = selectors.newsfeed_get_for_agent(account=account, pk=pk)
    fv = selectors.feed_view(account=account, feed=feed)
    form = feed_form(fv)
    status = 200
    notice = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "remove":
                notice = _feed_schedule_remove(request, account, feed)
            else:
                form = feed_form(fv, request.POST)
                if form.is_valid():
                    services.feed_schedule_set(account=account, user=request.user, feed=feed, choice=form.choice)
                    notice = "Schedule saved; sending it to flexmls."
                else:
                    status = 422
        except WriteRefused as exc:
            form.add_error(None, str(exc))
            status = 422
        if status == 200:
            fv = selectors.feed_view(account=account, feed=feed)
            form = feed_form(fv)
            if not request.htmx:
                messages.success(request, notice)
                return redirect(_safe_next(request) or reverse("newsfeeds:feed", args=[feed.pk]))
        else:
            fv = selectors.feed_view(account=account, feed=feed)
    fv.form = form
    context = {"account": account, "fv": fv, "notice": notice, "next": _safe_next(request) or ""}
    template = "newsfeeds_app/feed_schedule.html"
    if request.htmx:
        template = "newsfeeds_app/_feed.html"
    return render(request, template, context, status=status)


@agent_required
@require_GET
def preview(request, account):
    """The sentence and next deliveries of the choice being edited (the form's own fields, on change)."""
    prefix = request.GET.get("prefix", "")[:20] or None
    form = ScheduleForm(request.GET, prefix=prefix)
    if form.is_valid():
        return render(request, "newsfeeds_app/_preview.html", {"preview": selectors.choice_preview(form.choice)})
    return render(request, "newsfeeds_app/_preview.html", {"errors": form.non_field_errors() or [
        e for errs in form.errors.values() for e in errs]})


def _contacts_from_list(account, params) -> list[int]:
    """The contacts the contacts list's bulk bar carried here: picked ids, or every contact matching its filter."""
    if "matching" in params:
        query = ContactQuery.from_params(QueryDict(params["matching"]))
        return list(contact_list(account=account, query=query).values_list("pk", flat=True)[:bulk.MAX_CONTACTS])
    ids = []
    for part in params.get("contacts", "").split(","):
        if part.strip().isdigit() and len(part.strip()) < 19:
            ids.append(int(part))
    return ids[:bulk.MAX_CONTACTS]


@agent_required
@require_http_methods(["GET", "POST"])
def bulk_start(request, account):
    if request.method == "GET":
        # From the contacts list's bulk bar: the same form, its contacts chosen (those that have news feeds).
        chosen = _contacts_from_list(account, request.GET)
        form = _bulk_form(account, chosen=chosen)
        with_feeds = len(form.initial.get("contacts", []))
        if not chosen:
            note = ""
        elif with_feeds == len(chosen):
            note = f"{with_feeds} contact{'s' if with_feeds != 1 else ''} from your list chosen below."
        elif with_feeds:
            note = (f"{with_feeds} of the {len(chosen)} contacts from your list have news feeds and are chosen "
                    "below; the others have none.")
        else:
            note = f"None of the {len(chosen)} contacts from your list has a news feed."
        return render(request, "newsfeeds_app/index.html",
                      _index_context(request, account, bulk_form=form, bulk_note=note))
    form = _bulk_form(account, request.POST)
    if form.is_valid():
        choice = None if form.cleaned_data["action"] == "remove" else form.choice
        try:
            job = bulk.schedule_bulk_start(account=account, user=request.user,
                                           contact_ids=form.cleaned_data["contacts"], choice=choice)
            return redirect("newsfeeds:job", pk=job.pk)
        except WriteRefused as exc:
            form.add_error(None, str(exc))
    return render(request, "newsfeeds_app/index.html", _index_context(request, account, bulk_form=form), status=422)


@agent_required
@require_GET
def bulk_job(request, account, pk: int):
    """The one bulk job page (templates/outbox/bulk_job.html), reached from the news feeds: results per feed."""
    job = selectors.bulk_job_get_for_agent(account=account, pk=pk)
    progress = bulk_runner.bulk_job_progress(job=job)
    context = {"job": job, "progress": progress, "results": bulk_runner.bulk_job_results(job=job),
               "preparing": job.status == BulkJob.Status.PREPARING,
               "back_url": reverse("newsfeeds:index"), "back_label": "News feeds",
               "poll_url": reverse("newsfeeds:job", args=[job.pk])}
    template = "outbox/bulk_job.html"
    if request.htmx:
        template += "#job"
    return render(request, template, context)
