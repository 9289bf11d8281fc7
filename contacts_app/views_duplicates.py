"""The "Possible duplicates" page: the groups the background finder stored for the agent, "Not duplicates" and
"Check again". Nothing here computes duplicates: the page reads what the last check found."""

from __future__ import annotations

from itertools import combinations

from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.agents.guards import agent_required
from crm.outbox.queue import WriteRefused

from . import bulk_merge, duplicate_finder
from .duplicate_models import DuplicateCheck, DuplicateDismissal, DuplicateGroup
from .models import LIST_ROWS, Contact

GROUPS_PER_PAGE = 25
PHONE_LABELS = (("primary_phone", "Primary"), ("MobilePhoneNumber", "Mobile"), ("HomePhoneNumber", "Home"),
                ("WorkPhoneNumber", "Work"), ("OtherPhoneNumber", "Other"))


def _status(account) -> dict:
    check = DuplicateCheck.objects.filter(account=account).first()
    now = timezone.now()
    running = bool(check and check.claimed_until and check.claimed_until > now)
    waiting = bool(check and check.requested_at and (check.checked_at is None or check.requested_at > check.checked_at)
                   and (now - check.requested_at).total_seconds() < 300)
    return {"check": check, "checking": running or waiting}


def _card(contact: Contact) -> dict:
    attrs = contact.attributes if isinstance(contact.attributes, dict) else {}
    secondary = attrs.get("SecondaryEmails")
    emails = [contact.primary_email] if contact.primary_email else []
    emails += [e for e in secondary if isinstance(e, str) and e.strip()] if isinstance(secondary, list) else []
    phones = []
    for field, label in PHONE_LABELS:
        value = contact.primary_phone if field == "primary_phone" else attrs.get(field)
        if isinstance(value, str) and value.strip():
            phones.append((label, value))
    city = next((attrs[k] for k in ("HomeLocality", "WorkLocality") if isinstance(attrs.get(k), str) and attrs[k]), "")
    return {"contact": contact, "emails": emails, "phones": phones, "city": city}


@agent_required
@require_GET
def duplicates(request, account):
    return _render_body(request, account, part=request.htmx and request.GET.get("part") == "body")


def _render_body(request, account, *, part: bool):
    page = Paginator(DuplicateGroup.objects.filter(account=account).order_by("-best", "id"),
                     GROUPS_PER_PAGE).get_page(request.GET.get("page"))
    ids = {i for g in page.object_list for i in g.contact_ids}
    contacts = {c.pk: c for c in Contact.objects.filter(LIST_ROWS, owner=account, pk__in=ids).only(
        "pk", "display_name", "primary_email", "primary_phone", "tags", "score", "attributes")}
    groups = []
    for group in page.object_list:
        members = [_card(contacts[i]) for i in group.contact_ids if i in contacts]
        if len(members) >= 2:  # a member deleted since the check: the next check redraws the group
            groups.append({"group": group, "members": members})
    return render(request, "contacts_app/duplicates.html#body" if part else "contacts_app/duplicates.html",
                  {"groups": groups, "page": page, "total": page.paginator.count,
                   "obvious": len(bulk_merge.obvious_groups(account=account)), **_status(account)})


@agent_required
@require_POST
def duplicates_dismiss(request, account, pk: int):
    """Not duplicates: every pair of the group's contacts (as the page showed them) is remembered, so no later check
    shows them together again. The page sends the contacts it showed, so a check that redrew the group meanwhile
    changes nothing; a contact that is not the agent's is a 404."""
    group = DuplicateGroup.objects.filter(pk=pk, account=account).first()
    try:
        shown = sorted({int(i) for i in request.POST.getlist("contact")})
    except (TypeError, ValueError):
        raise Http404("No such contact") from None
    if not shown and group is not None:
        shown = sorted(group.contact_ids)
    ids = sorted(Contact.objects.filter(owner=account, pk__in=shown).values_list("pk", flat=True))
    if len(shown) < 2 or ids != shown:
        raise Http404("No such group")
    with transaction.atomic():
        DuplicateDismissal.objects.bulk_create(
            [DuplicateDismissal(account=account, low_id=low, high_id=high, created_by=request.user)
             for low, high in combinations(ids, 2)], ignore_conflicts=True, batch_size=2000)
        DuplicateGroup.objects.filter(account=account, contact_ids__contained_by=ids).delete()
    if request.htmx:
        return HttpResponse("")
    return redirect("contacts:duplicates")


@agent_required
@require_POST
def duplicates_check_again(request, account):
    duplicate_finder.duplicates_check_queue(account)
    if request.htmx:
        return _render_body(request, account, part=True)
    return redirect("contacts:duplicates")


@agent_required
@require_http_methods(["GET", "POST"])
def duplicates_merge_obvious(request, account):
    """"Merge all obvious groups": GET confirms (how many groups and contacts, who is kept); POST starts the one job
    with the groups as the page showed them (the job skips a group that changed since, and says why)."""
    if request.method == "POST":
        try:
            groups = [[int(i) for i in value.split(",")] for value in request.POST.getlist("group")]
        except (TypeError, ValueError):
            raise Http404("No such group") from None
        try:
            job = bulk_merge.bulk_merge_start(account=account, user=request.user, groups=groups)
        except Contact.DoesNotExist:
            raise Http404("No such contact") from None
        except WriteRefused as exc:
            return render(request, "contacts_app/duplicates_merge.html",
                          {"groups": [], "error": str(exc), "rule": bulk_merge.SURVIVOR_RULE}, status=422)
        return redirect("contacts:job", pk=job.pk)
    groups = bulk_merge.obvious_groups(account=account)
    return render(request, "contacts_app/duplicates_merge.html",
                  {"groups": bulk_merge.group_previews(groups),
                   "summary": bulk_merge.obvious_summary(groups), "rule": bulk_merge.SURVIVOR_RULE})
