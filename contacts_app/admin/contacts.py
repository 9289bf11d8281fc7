"""Every contact of the office's agents, and the broker's transfer."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import path

from crm.agents.models import SparkAccount

from .. import admin_services, people
from ..models import Contact
from ..selectors import BANDS
from .agents import TargetForm
from .base import ReadOnlyAdmin, _perm, _selected_ids
from .shared import URL_NAME as SHARED_URL_NAME
from .shared import shared_clients_view


class OfficeFilter(admin.SimpleListFilter):
    title = "office"
    parameter_name = "office"

    def lookups(self, request, model_admin):
        rows = (SparkAccount.objects.exclude(office_id="").filter(people.office_scope_for(request.user).q("office_id"))
                .values_list("office_id", "office_name").distinct())
        return sorted(((oid, name or oid) for oid, name in rows), key=lambda r: r[1])

    def queryset(self, request, queryset):
        return queryset.filter(owner__office_id=self.value()) if self.value() else queryset


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        tags = cache.get("admin:tags")
        if tags is None:
            with connection.cursor() as cur:
                cur.execute("SELECT DISTINCT unnest(tags) AS t FROM contacts_app_contact ORDER BY t LIMIT 300")
                tags = [row[0] for row in cur.fetchall()]
            cache.set("admin:tags", tags, 300)
        return [(t, t) for t in tags]

    def queryset(self, request, queryset):
        return queryset.filter(tags__contains=[self.value()]) if self.value() else queryset


class ScoreBandFilter(admin.SimpleListFilter):
    title = "score"
    parameter_name = "band"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in BANDS.items()]

    def queryset(self, request, queryset):
        return queryset.filter(BANDS[self.value()][1]) if self.value() in BANDS else queryset


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("display_name", "primary_email", "owner", "office", "tag_list", "record_status", "score",
                    "write_state", "synced_at")
    list_filter = (("owner", admin.RelatedOnlyFieldListFilter), OfficeFilter, TagFilter, "record_status",
                   ScoreBandFilter, "write_state")
    search_fields = ("display_name",)  # replaced by the trigram search below
    search_help_text = "Name, e-mail or phone (any part), or a Spark contact Id."
    list_select_related = ("owner",)
    office_field = "owner__office_id"
    exclude = ("search_text",)
    actions = ["transfer_contacts"]
    show_full_result_count = False

    def get_urls(self):
        return [
            path("shared/", self.admin_site.admin_view(lambda request: shared_clients_view(self, request)),
                 name=SHARED_URL_NAME),
            *super().get_urls(),
        ]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lower()[:200]
        if not term:
            return queryset, False
        digits = "".join(ch for ch in term if ch.isdigit())
        if len(digits) >= 3 and not any(ch.isalpha() for ch in term):
            term = digits
        return queryset.filter(Q(search_text__contains=term) | Q(spark_id=search_term.strip())), False

    @admin.display(description="Office", ordering="owner__office_name")
    def office(self, obj):
        return obj.owner.office_name

    @admin.display(description="Tags")
    def tag_list(self, obj):
        return ", ".join(obj.tags)

    def has_transfer_permission(self, request):
        return _perm(request, "transfer_contact")

    @admin.action(description="Transfer selected contacts to another agent…", permissions=["transfer"])
    def transfer_contacts(self, request, queryset):
        count = queryset.count()
        if count > admin_services.MAX_ADMIN_TRANSFER:
            self.message_user(request, f"{count} contacts selected; transfer at most "
                                       f"{admin_services.MAX_ADMIN_TRANSFER} here, or offboard the agent to move a "
                                       "whole book.", messages.ERROR)
            return None
        if "refresh_directory" in request.POST:
            accounts = admin_services.agent_directory_refresh_queue()
            self.message_user(request, "Refreshing the agent directory from Spark"
                                       f"{' with the MLS admin' if any(a.mls_admin for a in accounts) else ''}; "
                                       "reload this page in a few seconds.", messages.INFO)
        wants_apply = "apply" in request.POST and "refresh_directory" not in request.POST
        # Refreshing the directory keeps the selection and the agent chosen so far (the form is shown again).
        form = TargetForm(request.POST if wants_apply else None, initial={"target": request.POST.get("target", "")})
        if form.is_bound and form.is_valid():
            outcome = admin_services.contacts_transfer_by_broker(user=request.user, contacts=queryset.select_related("owner"),
                                                                 target=form.chosen())
            level = messages.SUCCESS if not outcome.refused else messages.WARNING
            self.message_user(request, outcome.summary(f"Transferring to {form.chosen().name}:"), level)
            return None
        owners = (queryset.values("owner__name", "owner__office_name").annotate(n=Count("pk"))
                  .order_by("owner__name"))
        return TemplateResponse(request, "admin/contacts_app/transfer.html", {
            **self.admin_site.each_context(request), "title": "Transfer contacts", "opts": self.model._meta,
            "form": form, "count": count, "owners": owners, "contacts": queryset[:20],
            "mls_admin": admin_services.mls_admin_account(), "selected": _selected_ids(request),
            "action": "transfer_contacts",
        }, status=422 if form.is_bound else 200)


# -- writes ---------------------------------------------------------------------------------------------------------
