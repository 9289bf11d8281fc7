"""The broker's admin: people, contacts, the outbox, the audit log and offboarding.

Nothing here edits a row directly: every model is read-only in the admin, and the actions call the services
(admin_services, offboarding), which change the store, queue the Spark write and record the audit event.
Brokers are staff in the Broker group (migration 0004); agents are not staff, so the admin refuses them.
"""

from __future__ import annotations

import datetime as dt
import json

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

from crm.admin_credentials import CredentialSafeAdmin, masked

from . import admin_services, offboarding
from .models import (
    AgentDirectoryEntry,
    AuditEvent,
    BulkJob,
    Contact,
    SparkAccount,
    SparkWrite,
    SyncState,
)
from .selectors import BANDS
from .services import WriteRefused


class ReadOnlyAdmin(CredentialSafeAdmin):
    """Viewable and filterable (never on credentials); rows change only through the services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _perm(request, codename: str) -> bool:
    return request.user.has_perm(f"contacts_app.{codename}")


def _selected_ids(request) -> list[str]:
    return request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)


# -- people ---------------------------------------------------------------------------------------------------------


class SyncInline(admin.TabularInline):
    model = SyncState
    fields = ("resource", "status", "last_success_at", "last_full_at", "progress_done", "progress_total",
              "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TargetForm(forms.Form):
    target = forms.ChoiceField(label="Move to", error_messages={"required": "Choose the agent to move them to.",
                                                               "invalid_choice": "Choose one of the agents listed."})

    def __init__(self, *args, exclude: set[str] = frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "— choose an agent —")] + [
            (t.spark_user_id, t.label) for t in admin_services.transfer_target_list()
            if t.spark_user_id not in exclude
        ]

    def chosen(self) -> admin_services.TransferTarget | None:
        return admin_services.transfer_target_get(self.cleaned_data["target"])


@admin.register(SparkAccount)
class SparkAccountAdmin(ReadOnlyAdmin):
    list_display = ("name", "user", "office_name", "mls_admin", "link_status", "last_sync", "sync_status",
                    "contact_count", "admin_access")
    list_filter = ("link_status", "office_name", "mls_admin", "auth_mode")
    search_fields = ("name", "email", "spark_user_id", "user__username", "office_name")
    list_select_related = ("user",)
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
        departing = accounts[0]
        form = TargetForm(request.POST if "apply" in request.POST else None, exclude={departing.spark_user_id})
        if form.is_bound and form.is_valid():
            try:
                job = offboarding.offboarding_start(user=request.user, departing=departing, target=form.chosen())
            except WriteRefused as exc:
                form.add_error("target", str(exc))
            else:
                self.message_user(request, f"Offboarding {departing.name}: moving {job.total} contacts to "
                                           f"{job.params['owner_name']}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:contacts_app_bulkjob_change", args=[job.pk]))
        contacts = Contact.objects.filter(owner=departing, pending_delete=False).count()
        admin_link = admin_services.mls_admin_account()
        return TemplateResponse(request, "admin/contacts_app/offboard.html", {
            **self.admin_site.each_context(request), "title": f"Offboard {departing.name}", "opts": self.model._meta,
            "departing": departing, "contact_count": contacts, "form": form, "mls_admin": admin_link,
            "selected": [departing.pk], "action": "offboard_agent",
        }, status=422 if form.is_bound else 200)


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    list_display = ("account", "resource", "status", "last_success_at", "last_full_at", "progress_done",
                    "progress_total", "last_error", "skipped")
    list_filter = ("resource", "status")
    search_fields = ("account__name",)
    list_select_related = ("account",)
    exclude = ("claim_token",)


@admin.register(AgentDirectoryEntry)
class AgentDirectoryAdmin(ReadOnlyAdmin):
    list_display = ("name", "email", "office_name", "spark_user_id", "fetched_at")
    list_filter = ("office_name",)
    search_fields = ("name", "email", "spark_user_id")


# -- contacts -------------------------------------------------------------------------------------------------------


class OfficeFilter(admin.SimpleListFilter):
    title = "office"
    parameter_name = "office"

    def lookups(self, request, model_admin):
        rows = SparkAccount.objects.exclude(office_id="").values_list("office_id", "office_name").distinct()
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
    list_filter = ("owner", OfficeFilter, TagFilter, "record_status", ScoreBandFilter, "write_state")
    search_fields = ("display_name",)  # replaced by the trigram search below
    search_help_text = "Name, e-mail or phone (any part), or a Spark contact Id."
    list_select_related = ("owner",)
    exclude = ("search_text",)
    actions = ["transfer_contacts"]
    show_full_result_count = False

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
        form = TargetForm(request.POST if wants_apply else None)
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


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    BUCKETS = {
        "1h": ("Less than an hour", dt.timedelta(0), dt.timedelta(hours=1)),
        "1d": ("1 to 24 hours", dt.timedelta(hours=1), dt.timedelta(days=1)),
        "7d": ("1 to 7 days", dt.timedelta(days=1), dt.timedelta(days=7)),
        "old": ("Older than 7 days", dt.timedelta(days=7), None),
    }

    def lookups(self, request, model_admin):
        return [(k, v[0]) for k, v in self.BUCKETS.items()]

    def queryset(self, request, queryset):
        if self.value() not in self.BUCKETS:
            return queryset
        _, newest, oldest = self.BUCKETS[self.value()]
        now = timezone.now()
        queryset = queryset.filter(created_at__lte=now - newest)
        return queryset.filter(created_at__gt=now - oldest) if oldest else queryset


class DiscardForm(forms.Form):
    reason = forms.CharField(
        max_length=500, strip=True, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={"required": "Give the reason for discarding; it is kept with the write and in the audit log.",
                        "max_length": "Keep the reason under 500 characters."},
    )


@admin.register(SparkWrite)
class SparkWriteAdmin(ReadOnlyAdmin):
    list_display = ("pk", "created_at", "age", "kind", "contact_name", "account", "status", "attempts",
                    "spark_result", "source", "created_by", "discard_reason")
    list_filter = ("status", "kind", AgeFilter, "source", "account")
    search_fields = ("contact_name", "spark_message", "discard_reason")
    list_select_related = ("account", "created_by")
    date_hierarchy = "created_at"
    exclude = ("claimed_until",)
    actions = ["retry_writes", "discard_writes"]

    @admin.display(description="Age", ordering="created_at")
    def age(self, obj):
        return timesince(obj.created_at)

    @admin.display(description="Spark said")
    def spark_result(self, obj):
        if not obj.spark_message:
            return ""
        return f"{obj.spark_message} (HTTP {obj.spark_status}, code {obj.spark_code})"

    def has_retry_permission(self, request):
        return _perm(request, "retry_sparkwrite")

    def has_discard_permission(self, request):
        return _perm(request, "discard_sparkwrite")

    @admin.action(description="Retry selected failed writes", permissions=["retry"])
    def retry_writes(self, request, queryset):
        done, skipped = admin_services.writes_retry_by_broker(user=request.user, writes=queryset.select_related("account"))
        self.message_user(request, f"Sending {done} write{'s' if done != 1 else ''} again."
                          + (f" {skipped} were not failed, so left as they are." if skipped else ""), messages.SUCCESS)

    @admin.action(description="Discard selected failed writes (with a reason)…", permissions=["discard"])
    def discard_writes(self, request, queryset):
        form = DiscardForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, skipped = admin_services.writes_discard_by_broker(
                user=request.user, writes=queryset.select_related("account"), reason=form.cleaned_data["reason"])
            self.message_user(request, f"Discarded {done} write{'s' if done != 1 else ''}; the contacts show what "
                                       "flexmls has." + (f" {skipped} were not failed, so left as they are."
                                                         if skipped else ""), messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/contacts_app/discard.html", {
            **self.admin_site.each_context(request), "title": "Discard failed writes", "opts": self.model._meta,
            "form": form, "writes": queryset.select_related("account")[:50], "count": queryset.count(),
            "failed": queryset.filter(status=SparkWrite.Status.FAILED).count(),
            "selected": _selected_ids(request), "action": "discard_writes",
        }, status=422 if form.is_bound else 200)


# -- audit ----------------------------------------------------------------------------------------------------------


def _pretty(data) -> str:
    if not data:
        return "—"
    return format_html("<pre style='margin:0;white-space:pre-wrap'>{}</pre>",
                       json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True))


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Append-only: no one adds, changes or deletes an event here (the model refuses updates too)."""

    list_display = ("created_at", "who", "source", "action", "contact_name", "account", "outcome",
                    "spark_outcome", "message")
    list_filter = ("source", "outcome", "action", "created_at", "account")
    search_fields = ("contact_name", "actor_name", "contact_spark_id", "message")
    list_select_related = ("actor", "account", "write")
    date_hierarchy = "created_at"
    fields = ("created_at", "who", "source", "action", "account", "contact_link", "contact_spark_id",
              "contact_name", "before_pretty", "after_pretty", "outcome", "message", "spark_outcome")
    readonly_fields = fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="By")
    def who(self, obj):
        if obj.actor is None:
            return f"{obj.actor_name or 'Background job'} (system)"
        role = "broker" if obj.actor.is_staff else "agent"
        return f"{obj.actor_name or obj.actor.get_username()} ({role})"

    @admin.display(description="Spark outcome")
    def spark_outcome(self, obj):
        write = obj.write
        if write is None:
            return "—"
        text = f"Write #{write.pk}: {write.get_status_display()}"
        if write.spark_message:
            text += f" — {write.spark_message}"
        if write.discard_reason:
            text += f" (discarded: {write.discard_reason})"
        return text

    @admin.display(description="Contact")
    def contact_link(self, obj):
        if obj.contact_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:contacts_app_contact_change", args=[obj.contact_id]),
                           obj.contact_name)

    @admin.display(description="Before")
    def before_pretty(self, obj):
        return _pretty(obj.before)

    @admin.display(description="After")
    def after_pretty(self, obj):
        return _pretty(obj.after)


# -- bulk jobs and offboarding --------------------------------------------------------------------------------------


@admin.register(BulkJob)
class BulkJobAdmin(ReadOnlyAdmin):
    list_display = ("pk", "created_at", "what", "account", "created_by", "source", "status", "total", "finished_at")
    list_filter = ("kind", "source", "status")
    search_fields = ("account__name",)
    list_select_related = ("account", "created_by")

    @admin.display(description="Job")
    def what(self, obj):
        prefix = "Offboarding: " if offboarding.is_offboarding(obj) else ""
        return prefix + obj.describe()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        if job is None or not self.has_view_permission(request, job):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        report = offboarding.offboarding_report(job=job)
        return TemplateResponse(request, "admin/contacts_app/job.html", {
            **self.admin_site.each_context(request), "title": str(self.what(job)), "opts": self.opts,
            "job": job, "report": report, "is_offboarding": offboarding.is_offboarding(job),
            "finished": report.finished if offboarding.is_offboarding(job) else report.progress.done,
            "schedule_rows": format_html_join("", "<tr class='{}'><td>{}</td><td>{}</td><td>{}</td></tr>", (
                ("ok" if r["ok"] else "bad", r["contact"], r["what"], r["message"]) for r in report.schedule_results
            )),
        })


# -- logins and Django's own admins ---------------------------------------------------------------------------------
# Every admin on the site derives from CredentialSafeAdmin (a system check insists), so the third-party ones are
# registered again with it.


admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.unregister(AccessAttempt)
admin.site.unregister(AccessLog)
admin.site.unregister(AccessFailureLog)


@admin.register(User)
class SafeUserAdmin(CredentialSafeAdmin, UserAdmin):
    credential_fields_in_form = ("password",)  # Django's form shows only the hash's algorithm, never the hash


@admin.register(Group)
class SafeGroupAdmin(CredentialSafeAdmin, GroupAdmin):
    pass


@admin.register(AccessAttempt)
class LoginLockoutAdmin(CredentialSafeAdmin, AccessAttemptAdmin):
    """Failed logins per username and address; a broker unlocks one by deleting it (the Broker group has the
    delete permission, migration 0006)."""

    actions = ["unlock", "cleanup_expired_attempts"]

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Unlock: forget the failed logins of the selected", permissions=["delete"])
    def unlock(self, request, queryset):
        who = sorted({a.username or "?" for a in queryset})
        queryset.delete()
        self.message_user(request, f"Unlocked {', '.join(who)}: they can log in again.", messages.SUCCESS)


@admin.register(AccessLog)
class SafeAccessLogAdmin(CredentialSafeAdmin, AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class SafeAccessFailureLogAdmin(CredentialSafeAdmin, AccessFailureLogAdmin):
    pass
