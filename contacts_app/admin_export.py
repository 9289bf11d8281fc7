"""The broker's export of agents' books from the admin: an action on Agents (hooked from admin.py)."""

from __future__ import annotations

from django.contrib import admin, messages

from crm.agents.models import SparkAccount
from crm.outbox.models import SparkWrite

from . import csv_export
from .models import Contact


@admin.action(description="Export the selected agents' contacts (CSV)", permissions=["view"])
def export_books_csv(model_admin, request, queryset):
    """Every contact of the selected agents (the broker's own office only: the queryset is the admin's, scoped),
    with a first column naming the agent; written to the audit log per agent."""
    accounts = list(SparkAccount.objects.filter(user__in=queryset).order_by("name"))
    if not accounts:
        model_admin.message_user(request, "The selected agents have no flexmls link, so no contacts.",
                                 messages.WARNING)
        return None
    qs = (Contact.objects.filter(owner__in=accounts, pending_delete=False).exclude(
        spark_id__isnull=True, write_state=Contact.WriteState.FAILED).order_by("owner__name", "display_name", "id"))
    for account in accounts:
        rows = qs.filter(owner=account).count()
        csv_export.export_record(user=request.user, account=account, fmt="csv", source=SparkWrite.Source.ADMIN,
                                 what={"agent": account.user.get_username(), "book": True}, rows=rows)
    names = {a.pk: a.name or a.user.get_username() for a in accounts}
    stem = "book-" + accounts[0].user.get_username() if len(accounts) == 1 else "books"
    return csv_export.csv_response(qs, filename=csv_export.export_filename(stem, "csv"),
                                   extra=[("Agent", lambda c: names.get(c.owner_id, ""))])


def hook(agent_admin_class) -> None:
    agent_admin_class.actions = [*agent_admin_class.actions, export_books_csv]
