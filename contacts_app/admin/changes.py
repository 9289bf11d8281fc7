"""The outbox as the broker sees it: changes sent to flexmls (retry, discard), the audit log, bulk jobs."""

from __future__ import annotations

import datetime as dt
import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from crm.outbox.models import AuditEvent, BulkJob, SparkWrite

from .. import admin_services, offboarding, people
from .base import ReadOnlyAdmin, _perm, _selected_ids


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
    list_filter = ("status", "kind", AgeFilter, "source", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("contact_name", "spark_message", "discard_reason")
    list_select_related = ("account", "created_by")
    office_field = "account__office_id"
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
    list_filter = ("source", "outcome", "action", "created_at", ("account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("contact_name", "actor_name", "contact_spark_id", "message")
    list_select_related = ("actor", "account", "write")
    date_hierarchy = "created_at"
    fields = ("created_at", "who", "source", "action", "account", "contact_link", "contact_spark_id",
              "contact_name", "before_pretty", "after_pretty", "outcome", "message", "spark_outcome")
    readonly_fields = fields

    def get_queryset(self, request):
        scope = people.office_scope_for(request.user)
        queryset = super().get_queryset(request)
        if scope.everything:
            return queryset
        # A change to a login of an agent without a flexmls link has no account: its office is in `after`.
        return queryset.filter(scope.q("account__office_id") | (Q(account__isnull=True) & scope.q("after__office_id")))

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
    office_field = "account__office_id"

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
        })
