"""Agents' flexmls links, their syncs, the office directory and the offices of logins."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timesince import timesince

from crm.admin_credentials import CredentialSafeAdmin, masked
from crm.agents.models import AgentDirectoryEntry, OfficeMember, SparkAccount, SyncState

from .. import admin_services
from .agents import SyncInline, _offboard
from .base import ReadOnlyAdmin, _perm


@admin.register(SparkAccount)
class SparkAccountAdmin(ReadOnlyAdmin):
    list_display = ("name", "user", "office_name", "mls_admin", "link_status", "last_sync", "sync_status",
                    "contact_count", "admin_access")
    list_filter = ("link_status", "office_name", "mls_admin", "auth_mode")
    search_fields = ("name", "email", "spark_user_id", "user__username", "office_name")
    list_select_related = ("user",)
    office_field = "office_id"
    # Credentials are never shown, filtered, searched or sorted on (CredentialSafeAdmin); the key only masked.
    fields = ("user", "name", "email", "spark_user_id", "office_id", "office_name", "mls_admin", "auth_mode",
              "api_key_masked", "link_status", "link_error", "created_at", "updated_at")
    readonly_fields = ("api_key_masked",)
    inlines = [SyncInline]
    actions = ["resync_agents", "offboard_agent"]

    def get_queryset(self, request):
        states = SyncState.objects.filter(account=OuterRef("pk"), resource="contacts")
        return super().get_queryset(request).annotate(
            _last_sync=Subquery(states.values("last_success_at")[:1]),
            _sync_status=Subquery(states.values("status")[:1]),
            _sync_error=Subquery(states.values("last_error")[:1]),
            _contacts=Count("contacts", filter=Q(contacts__pending_delete=False)),
        )

    @admin.display(description="API key")
    def api_key_masked(self, obj):
        return masked(obj.api_key)

    @admin.display(description="Last sync", ordering="_last_sync")
    def last_sync(self, obj):
        if obj._last_sync is None:
            return "Never"
        return f"{timesince(obj._last_sync)} ago"

    @admin.display(description="Sync")
    def sync_status(self, obj):
        if obj._sync_status == SyncState.Status.FAILED:
            return format_html('<span title="{}">Failed: {}</span>', obj._sync_error, obj._sync_error[:60])
        return dict(SyncState.Status.choices).get(obj._sync_status, "—")

    @admin.display(description="Contacts", ordering="_contacts")
    def contact_count(self, obj):
        return obj._contacts

    @admin.display(description="Admin access", boolean=True)
    def admin_access(self, obj):
        return obj.user.is_staff

    def has_resync_permission(self, request):
        return _perm(request, "resync_sparkaccount")

    def has_offboard_permission(self, request):
        return _perm(request, "offboard_sparkaccount")

    @admin.action(description="Resync selected agents from Spark", permissions=["resync"])
    def resync_agents(self, request, queryset):
        count = admin_services.agents_resync(accounts=list(queryset))
        self.message_user(request, f"Resyncing {count} agent{'s' if count != 1 else ''}; "
                                   "their last sync updates when each finishes.", messages.SUCCESS)

    @admin.action(description="Offboard: move all contacts of the selected agent…", permissions=["offboard"])
    def offboard_agent(self, request, queryset):
        accounts = list(queryset)
        if len(accounts) != 1:
            self.message_user(request, "Select exactly one departing agent to offboard.", messages.ERROR)
            return None
        return _offboard(self, request, accounts[0], "offboard_agent")


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    list_display = ("account", "resource", "status", "last_success_at", "last_full_at", "progress_done",
                    "progress_total", "last_error", "skipped")
    list_filter = ("resource", "status")
    search_fields = ("account__name",)
    list_select_related = ("account",)
    office_field = "account__office_id"
    exclude = ("claim_token",)


@admin.register(AgentDirectoryEntry)
class AgentDirectoryAdmin(ReadOnlyAdmin):
    list_display = ("name", "email", "office_name", "spark_user_id", "fetched_at")
    list_filter = ("office_name",)
    search_fields = ("name", "email", "spark_user_id")
    office_field = "office_id"

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {
            **(extra_context or {}), "refresh_url": reverse("admin:agents_agent_refresh_directory")})


@admin.register(OfficeMember)
class OfficeMemberAdmin(CredentialSafeAdmin):
    """Which office a broker runs (or the whole MLS); superusers only (brokers have no permission on it)."""

    list_display = ("user", "office_name", "office_id", "mls_wide", "updated_at")
    list_filter = ("mls_wide", "office_name")
    search_fields = ("user__username", "office_name")
    list_select_related = ("user",)
    raw_id_fields = ("user",)


# -- contacts -------------------------------------------------------------------------------------------------------
