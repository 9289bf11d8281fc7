"""Contacts workspace views: authorize (the agent's own objects only), validate (forms), call a service."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.agents.guards import account_for_user, agent_required
from crm.agents.linking import spark_account_link_oauth
from crm.outbox import bulk as bulk_runner
from crm.outbox.models import BulkJob, SparkWrite
from crm.safeinput import local_next
from crm.spark import SparkError
from crm.spark.oauth import authorize_url

from . import bulk, selectors, services
from .forms import (
    FIELD_GROUPS,
    BulkForm,
    ContactForm,
    TagForm,
    TransferForm,
    transfer_choices,
    transfer_targets,
    transfer_targets_note,
)
from .models import Contact
from .selectors import BANDS, SORT_LABELS, STATUSES, ContactQuery


def _is_partial(request, target: str) -> bool:
    return bool(request.htmx) and request.htmx.target == target


def _list_page(request, account, query: ContactQuery, *, rows: bool = True):
    """The page of the list asked for: its total from the per-agent count when no filter narrows it, and its rows
    with only the columns a row shows (and the states of refused rows, read for the page at once)."""
    paginator = selectors.CountedPaginator(selectors.contact_rows(account=account, query=query),
                                           settings.CONTACTS_PAGE_SIZE,
                                           count=selectors.contact_list_count(account=account, query=query))
    page = paginator.get_page(request.GET.get("page"))
    if rows:
        page.object_list = selectors.contact_rows_with_states(page.object_list)
    return page


@agent_required
@require_GET
def contacts_list(request, account):
    query = ContactQuery.from_params(request.GET)
    page = _list_page(request, account, query)
    undo = request.session.get("undo")
    if undo and undo["until"] < time.time():
        request.session.pop("undo", None)
        undo = None
    context = {
        "account": account,
        "query": query,
        "query_string": urlencode(query.as_params()),
        "page": page,
        "sync": selectors.agent_overview(account=account).sync,
        "tags": selectors.tag_list(account=account),
        "sorts": SORT_LABELS,
        "bands": {k: v[0] for k, v in BANDS.items()},
        "statuses": STATUSES,
        "undo": undo,
        "transfer_targets": SimpleLazyObject(functools.partial(transfer_choices, account)),
        "transfer_note": functools.partial(transfer_targets_note, account),  # asked only when no one is listed
        "share_max": SHARE_MAX_CONTACTS,
    }
    template = "contacts_app/contact_list.html"
    if _is_partial(request, "results"):
        template += "#results"
    return render(request, template, context)


@agent_required
@require_GET
def contact_detail(request, account, pk: int):
    contact = selectors.contact_with_activity_get_for_agent(account=account, pk=pk)
    activity = getattr(contact, "activity", None)
    refreshing = False
    stale = activity is None or activity.fetched_at is None or (
        time.time() - activity.fetched_at.timestamp() > settings.ACTIVITY_MAX_AGE_S
    )
    if stale and contact.spark_id:
        services.contact_activity_refresh_queue(contact=contact)
        refreshing = True
    context = _detail_context(account, contact)
    context.update(activity=activity, refreshing=refreshing)
    return render(request, "contacts_app/contact_detail.html", context)


def _detail_context(account, contact: Contact) -> dict:
    return {
        "account": account,
        "contact": contact,
        "groups": [
            (title, [(label, contact.attributes.get(name)) for name, label in fields if contact.attributes.get(name)])
            for title, fields in FIELD_GROUPS
        ],
        # An untouched contact (no change made here: no writes, no audit events, as its query says) reads neither.
        "writes": selectors.contact_writes(contact=contact)[:20] if getattr(contact, "has_writes", True) else [],
        "history": selectors.contact_history(contact=contact) if getattr(contact, "has_history", True) else [],
        "tags": selectors.tag_list(account=account),
        "tag_form": TagForm(),
        "transfer_form": TransferForm(account=account),
    }


@agent_required
@require_GET
def contact_activity(request, account, pk: int):
    contact = selectors.contact_with_activity_get_for_agent(account=account, pk=pk)
    activity = getattr(contact, "activity", None)
    refreshing = request.GET.get("waiting") == "1" and (activity is None or activity.fetched_at is None)
    return render(request, "contacts_app/contact_detail.html#activity",
                  {"contact": contact, "activity": activity, "refreshing": refreshing})


@agent_required
@require_http_methods(["GET", "POST"])
def contact_create(request, account):
    form = ContactForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        attrs = form.attributes()
        contact = services.contact_create(account=account, user=request.user, attributes=attrs)
        messages.success(request, f"{contact.display_name} was added; sending to flexmls.")
        return redirect("contacts:detail", pk=contact.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "contacts_app/contact_form.html", {"form": form, "creating": True}, status=status)


@agent_required
@require_http_methods(["GET", "POST"])
def contact_edit(request, account, pk: int):
    contact = selectors.contact_get_for_agent(account=account, pk=pk)
    initial = {name: contact.attributes.get(name, "") for name in ContactForm().fields}
    initial["DisplayName"] = contact.display_name
    form = ContactForm(request.POST or None, initial=initial, account=account, contact=contact)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data.get(name) or "" for name in form.changed_data}
        write = services.contact_update(account=account, user=request.user, contact=contact, changes=changes)
        if write is None:
            messages.info(request, "Nothing changed.")
        else:
            messages.success(request, f"Saved {contact.display_name}; sending to flexmls.")
        return redirect("contacts:detail", pk=contact.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "contacts_app/contact_form.html", {"form": form, "contact": contact}, status=status)


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
    write = selectors.write_get_for_agent(account=account, pk=pk)
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
    write = selectors.write_get_for_agent(account=account, pk=pk)
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
    write = selectors.write_get_for_agent(account=account, pk=pk)
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
                  {"writes": selectors.failed_writes(account=account).select_related("contact")})


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
    job = selectors.bulk_job_get_for_agent(account=account, pk=pk)
    progress = bulk_runner.bulk_job_progress(job=job)
    context = {"job": job, "progress": progress, "results": bulk_runner.bulk_job_results(job=job),
               "preparing": job.status == BulkJob.Status.PREPARING,
               "back_url": reverse("contacts:list"), "back_label": "Contacts",
               "poll_url": reverse("contacts:job", args=[job.pk])}
    if job.kind == BulkJob.Kind.MERGE:
        context.update(back_url=reverse("contacts:duplicates"), back_label="Possible duplicates")
    template = "outbox/bulk_job.html"
    if _is_partial(request, "job"):
        template += "#job"
    response = render(request, template, context)
    if progress.done:
        response["HX-Trigger"] = "jobDone"
    return response


# -- live fragments: polled only while something on the page waits for flexmls ----------------------------

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
    context = {"contact": contact, "writes": selectors.contact_writes(contact=contact)[:20],
               "history": selectors.contact_history(contact=contact)}
    return render(request, "contacts_app/contact_detail.html#live_update", context)


@agent_required
@require_GET
def contacts_list_meta(request, account):
    """The list's count and sync line, polled while a sync runs; once it settles with news, the rows follow."""
    query = ContactQuery.from_params(request.GET)
    page = _list_page(request, account, query, rows=False)
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


# -- error pages: the app's layout, saying what happened --------------------------------------------------


def page_not_found(request, exception=None):
    """404 in the app's layout. A contact this agent transferred or deleted says where it went, and when."""
    context = {"gone": None}
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    if (match is not None and match.namespace == "contacts" and "pk" in match.kwargs
            and match.url_name in ("detail", "edit", "row", "activity") and user is not None
            and user.is_authenticated):
        account = account_for_user(user)
        if account is not None:
            context["gone"] = selectors.contact_gone_note(account=account, pk=match.kwargs["pk"])
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


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")




# -- linking the agent's flexmls account (OAuth 2) --------------------------------------------------------


@login_required
@require_POST
def link_start(request):
    state = secrets.token_urlsafe(24)
    request.session["oauth_state"] = state
    redirect_uri = request.build_absolute_uri(reverse("contacts:link_callback"))
    return redirect(authorize_url(state, redirect_uri))


# The error codes of RFC 6749 4.1.2.1: the only part of an error response the agent is shown.
OAUTH_ERROR_CODES = frozenset({"invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
                               "invalid_scope", "server_error", "temporarily_unavailable"})


@login_required
@require_GET
def link_callback(request):
    # The pending attempt survives an error or a forged callback: only the matching state uses it up.
    expected = request.session.get("oauth_state")
    if request.GET.get("error"):
        # Spark's own words are not shown: anyone can send an agent here with an error_description of their choice.
        code = request.GET["error"]
        known = f" ({code})" if code in OAUTH_ERROR_CODES else ""
        messages.error(request, f"flexmls did not link your account{known}. Please try linking again.")
        return redirect("contacts:list")
    if not expected or not secrets.compare_digest(expected.encode(), request.GET.get("state", "").encode()):
        messages.error(request, "That link attempt expired or did not start here; please try again.")
        return redirect("contacts:list")
    request.session.pop("oauth_state", None)
    redirect_uri = request.build_absolute_uri(reverse("contacts:link_callback"))
    try:
        account = spark_account_link_oauth(user=request.user, code=request.GET.get("code", ""),
                                           redirect_uri=redirect_uri)
    except SparkError as exc:
        messages.error(request, f"flexmls refused the link: {exc.agent_message}")
        return redirect("contacts:list")
    except PermissionError as exc:
        messages.error(request, str(exc))
        return redirect("contacts:list")
    messages.success(request, f"Linked to flexmls as {account.name}. Your contacts are on their way.")
    return redirect("contacts:list")
