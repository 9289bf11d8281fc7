"""The broker's admin: people, contacts, the outbox, the audit log and offboarding.

Nothing here edits a row directly: every model is read-only in the admin, and the actions call the services
(admin_services, offboarding), which change the store, queue the Spark write and record the audit event.
Brokers are staff in the Broker group (migrations 0004, 0006, 0009); agents are not staff, so the admin refuses
them. A broker sees only their own office (people.office_scope_for): every list and page here is filtered by it,
so another office's row is "not found", by URL too.
"""

from __future__ import annotations

import datetime as dt
import json

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.timesince import timesince

from crm.admin_credentials import CredentialSafeAdmin, masked
from crm.agents.models import Agent, AgentDirectoryEntry, OfficeMember, SparkAccount, SyncState
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite
from crm.outbox.queue import WriteRefused

from . import admin_export, admin_services, offboarding, people
from .activity import activity_coverage
from .models import Contact
from .selectors import BANDS


class ReadOnlyAdmin(CredentialSafeAdmin):
    """Viewable and filterable (never on credentials); rows change only through the services. `office_field`: the
    lookup to the row's office id, so a broker sees only their office's rows (by URL too: others are not found)."""

    office_field: str | None = None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.office_field is None:
            return queryset
        return queryset.filter(people.office_scope_for(request.user).q(self.office_field))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # "Audit log", not Django's "Select audit event to view"
        return super().changelist_view(request, {"title": capfirst(self.opts.verbose_name_plural),
                                                 **(extra_context or {})})


# The app whose model each permission is on (its app label): the agents, the outbox, or contacts_app.
_PERM_APP = {
    "view_agent": "agents", "add_agent": "agents", "disable_agent": "agents", "reset_agent_password": "agents",
    "resync_sparkaccount": "agents", "offboard_sparkaccount": "agents", "view_agentdirectoryentry": "agents",
    "transfer_contact": "contacts_app", "retry_sparkwrite": "outbox", "discard_sparkwrite": "outbox",
}


def _perm(request, codename: str) -> bool:
    return request.user.has_perm(f"{_PERM_APP[codename]}.{codename}")


def _selected_ids(request) -> list[str]:
    return request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)


def _badge(css: str, text: str):
    return format_html('<span class="badge {}">{}</span>', css, text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


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


class OffboardForm(TargetForm):
    disable_login = forms.BooleanField(
        label="Disable the departing agent's login when done", required=False, initial=True,
        help_text="They can no longer log in to FlexCRM; their changes still waiting for flexmls are kept.")


def _offboard(model_admin, request, departing: SparkAccount, action: str):
    """The offboarding form (an action's second step) and its start; shared by the Agents and flexmls links pages."""
    form = OffboardForm(request.POST if "apply" in request.POST else None, exclude={departing.spark_user_id})
    if form.is_bound and form.is_valid():
        try:
            job = offboarding.offboarding_start(user=request.user, departing=departing, target=form.chosen(),
                                                disable_login=form.cleaned_data["disable_login"])
        except WriteRefused as exc:
            form.add_error("target", str(exc))
        else:
            model_admin.message_user(request, f"Offboarding {departing.name}: moving {job.total} contacts to "
                                              f"{job.params['owner_name']}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:outbox_bulkjob_change", args=[job.pk]))
    contacts = Contact.objects.filter(owner=departing, pending_delete=False).count()
    return TemplateResponse(request, "admin/contacts_app/offboard.html", {
        **model_admin.admin_site.each_context(request), "title": f"Offboard {departing.name}",
        "opts": model_admin.model._meta, "departing": departing, "contact_count": contacts, "form": form,
        "mls_admin": admin_services.mls_admin_account(), "selected": _selected_ids(request), "action": action,
        "refresh_url": reverse("admin:agents_agent_refresh_directory"),
    }, status=422 if form.is_bound else 200)


class LinkFilter(admin.SimpleListFilter):
    title = "flexmls link"
    parameter_name = "link"

    def lookups(self, request, model_admin):
        return [("linked", "Linked"), ("broken", "Needs reconnecting"), ("none", "Not linked")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(spark_account__isnull=True)
        if self.value() in ("linked", "broken"):
            return queryset.filter(spark_account__link_status=self.value())
        return queryset


class LoginFilter(admin.SimpleListFilter):
    title = "login"
    parameter_name = "login"

    def lookups(self, request, model_admin):
        return [("on", "Enabled"), ("off", "Disabled")]

    def queryset(self, request, queryset):
        return queryset.filter(is_active=self.value() == "on") if self.value() in ("on", "off") else queryset


class AgentAddForm(forms.Form):
    OAUTH = "oauth"

    username = forms.CharField(label="Login", max_length=150, validators=[UnicodeUsernameValidator()],
                               help_text="What they type to log in: letters, digits and @ . + - _ only.")
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    office = forms.ChoiceField(label="Office")
    link = forms.ChoiceField(label="flexmls link", widget=forms.RadioSelect)

    def __init__(self, *args, scope: people.OfficeScope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["office"].choices = people.broker_office_list(scope=scope)
        self.entries = {e.spark_user_id: e for e in people.directory_unlinked_list(scope=scope)}
        self.brokerage_key = bool(settings.SPARK_API_KEY and settings.SPARK_API_SECRET)
        choices = [(self.OAUTH, "They link their flexmls account themselves after their first login (OAuth)")]
        if self.brokerage_key:
            choices += [(sid, f"Act for {e.name} ({e.office_name or e.office_id}) with the brokerage key")
                        for sid, e in self.entries.items()]
        self.fields["link"].choices = choices
        self.fields["link"].initial = self.OAUTH

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if Agent.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That login is taken; choose another.")
        return username

    def entry(self) -> AgentDirectoryEntry | None:
        return self.entries.get(self.cleaned_data["link"])


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdmin):
    list_display = ("full_name", "login", "link", "last_sync", "activity", "last_seen", "contacts_held",
                    "writes_waiting", "writes_failed")
    list_display_links = ("full_name",)
    list_filter = (LinkFilter, LoginFilter)
    search_fields = ("username", "first_name", "last_name", "email")
    search_help_text = "Name, login or e-mail."
    list_select_related = ("spark_account",)
    ordering = ("first_name", "last_name", "username")
    fields = ("username", "first_name", "last_name", "email", "office", "link", "login", "last_login",
              "date_joined")
    readonly_fields = fields
    actions = ["disable_logins", "enable_logins", "reset_passwords", "resync_agents", "offboard_agent"]

    def get_queryset(self, request):
        scope = people.office_scope_for(request.user)
        states = SyncState.objects.filter(account__user=OuterRef("pk"), resource="contacts")

        def count(queryset):
            return Coalesce(Subquery(queryset.order_by().values("account__user" if queryset.model is SparkWrite
                                                                 else "owner__user")
                                     .annotate(n=Count("pk")).values("n")[:1]), Value(0),
                            output_field=IntegerField())

        return (people.agent_list(scope=scope).select_related("spark_account", "office_member").annotate(
            _last_sync=Subquery(states.values("last_success_at")[:1]),
            _sync_status=Subquery(states.values("status")[:1]),
            _sync_error=Subquery(states.values("last_error")[:1]),
            _contacts=count(Contact.objects.filter(owner__user=OuterRef("pk"), pending_delete=False)),
            _waiting=count(SparkWrite.objects.filter(account__user=OuterRef("pk"), status__in=SparkWrite.OPEN)),
            _failed=count(SparkWrite.objects.filter(account__user=OuterRef("pk"),
                                                    status=SparkWrite.Status.FAILED)),
        ))

    def has_view_permission(self, request, obj=None):
        return _perm(request, "view_agent")

    def has_add_permission(self, request):
        return _perm(request, "add_agent")

    def has_disable_permission(self, request):
        return _perm(request, "disable_agent")

    def has_reset_permission(self, request):
        return _perm(request, "reset_agent_password")

    def has_resync_permission(self, request):
        return _perm(request, "resync_sparkaccount")

    def has_offboard_permission(self, request):
        return _perm(request, "offboard_sparkaccount")

    @staticmethod
    def _account(obj) -> SparkAccount | None:
        try:
            return obj.spark_account
        except SparkAccount.DoesNotExist:
            return None

    @admin.display(description="Name", ordering="first_name")
    def full_name(self, obj):
        return obj.get_full_name() or obj.username

    @admin.display(description="Office")
    def office(self, obj):
        return people.agent_office(obj)[1] or "—"

    @admin.display(description="flexmls link")
    def link(self, obj):
        account = self._account(obj)
        if account is None:
            return _badge("off", "Not linked")
        if account.link_status == SparkAccount.LinkStatus.BROKEN:
            return format_html('<span class="badge warn" title="{}">Needs reconnecting</span>', account.link_error)
        return _badge("ok", "Linked")

    @admin.display(description="Last sync", ordering="_last_sync")
    def last_sync(self, obj):
        if obj._sync_status == SyncState.Status.FAILED:
            return format_html('<span class="badge bad" title="{}">Failed: {}</span>', obj._sync_error,
                               obj._sync_error[:60])
        if obj._last_sync is None:
            return "Never" if self._account(obj) else "—"
        running = " · syncing" if obj._sync_status == SyncState.Status.RUNNING else ""
        return f"OK, {timesince(obj._last_sync)} ago{running}"

    @admin.display(description="Activity")
    def activity(self, obj):
        account = self._account(obj)
        if account is None:
            return "—"
        cover = activity_coverage(account=account)
        if not cover["total"]:
            return "no contacts"
        percent = round(100 * cover["fresh"] / cover["total"])
        return f"fresh activity: {percent} % of {cover['total']}"

    @admin.display(description="Last login", ordering="last_login")
    def last_seen(self, obj):
        return f"{timesince(obj.last_login)} ago" if obj.last_login else "Never"

    @admin.display(description="Contacts", ordering="_contacts")
    def contacts_held(self, obj):
        return obj._contacts

    def _writes_link(self, obj, count: int, status: str, css: str):
        account = self._account(obj)
        if not count or account is None:
            return count
        url = reverse("admin:outbox_sparkwrite_changelist") + f"?account__id__exact={account.pk}&{status}"
        return format_html('<a class="badge {}" href="{}">{}</a>', css, url, count)

    @admin.display(description="Waiting", ordering="_waiting")
    def writes_waiting(self, obj):
        return self._writes_link(obj, obj._waiting, "status__in=queued,in_flight", "warn")

    @admin.display(description="Failed", ordering="_failed")
    def writes_failed(self, obj):
        return self._writes_link(obj, obj._failed, "status__exact=failed", "bad")

    @admin.display(description="Login", ordering="username")
    def login(self, obj):
        if obj.is_active:
            return obj.username
        return format_html('{} <span class="badge bad">disabled</span>', obj.username)

    # -- actions ----------------------------------------------------------------------------------------------------

    @admin.action(description="Disable the selected logins (their queued changes are kept)", permissions=["disable"])
    def disable_logins(self, request, queryset):
        done = [a for a in queryset if people.agent_login_set(by=request.user, agent=a, active=False)]
        waiting = SparkWrite.objects.filter(account__user__in=done, status__in=SparkWrite.OPEN).count()
        text = f"Disabled {_plural(len(done), 'login')}: {', '.join(a.get_username() for a in done) or 'none'}"
        text += "; they can no longer log in."
        if waiting:
            text += f" Their {_plural(waiting, 'queued change')} are kept and still go to flexmls."
        self.message_user(request, text, messages.SUCCESS if done else messages.WARNING)

    @admin.action(description="Enable the selected logins", permissions=["disable"])
    def enable_logins(self, request, queryset):
        done = [a for a in queryset if people.agent_login_set(by=request.user, agent=a, active=True)]
        self.message_user(request, f"Enabled {_plural(len(done), 'login')}: "
                                   f"{', '.join(a.get_username() for a in done) or 'none'}.", messages.SUCCESS)

    @admin.action(description="Reset password: give each a one-time link…", permissions=["reset"])
    def reset_passwords(self, request, queryset):
        links = [(a, request.build_absolute_uri(people.agent_password_reset(by=request.user, agent=a)))
                 for a in queryset]
        return TemplateResponse(request, "admin/contacts_app/agent_links.html", {
            **self.admin_site.each_context(request), "title": "One-time password links", "opts": self.opts,
            "links": links, "reset": True,
        })

    @admin.action(description="Resync the selected agents from flexmls", permissions=["resync"])
    def resync_agents(self, request, queryset):
        accounts = list(SparkAccount.objects.filter(user__in=queryset))
        count = admin_services.agents_resync(accounts=accounts)
        self.message_user(request, f"Resyncing {_plural(count, 'agent')}; their last sync updates when each "
                                   "finishes." + ("" if count == len(queryset) else " Agents without a flexmls "
                                                                                        "link have nothing to sync."),
                          messages.SUCCESS)

    @admin.action(description="Offboard: move all contacts of the selected agent…", permissions=["offboard"])
    def offboard_agent(self, request, queryset):
        agents = list(queryset)
        if len(agents) != 1:
            self.message_user(request, "Select exactly one departing agent to offboard.", messages.ERROR)
            return None
        departing = self._account(agents[0])
        if departing is None:
            self.message_user(request, f"{agents[0].get_username()} has no flexmls link, so no contacts to move; "
                                       "disable their login instead.", messages.ERROR)
            return None
        return _offboard(self, request, departing, "offboard_agent")

    # -- add an agent, refresh the directory ------------------------------------------------------------------------

    def get_urls(self):
        return [
            path("refresh-directory/", self.admin_site.admin_view(self.refresh_directory_view),
                 name="agents_agent_refresh_directory"),
            *super().get_urls(),
        ]

    def refresh_directory_view(self, request):
        """Refresh Spark's agent directory in the background, then back to the page the broker was on."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_view_permission(request) or _perm(request, "view_agentdirectoryentry")):
            return HttpResponseRedirect(reverse("admin:index"))
        accounts = admin_services.agent_directory_refresh_queue()
        if accounts:
            self.message_user(request, "Refreshing the office directory from flexmls"
                                       f"{' with the MLS admin' if any(a.mls_admin for a in accounts) else ''}; "
                                       "reload this page in a few seconds.", messages.INFO)
        else:
            self.message_user(request, "No agent has a working flexmls link to read the directory with.",
                              messages.WARNING)
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            back = reverse("admin:agents_agent_changelist")
        return HttpResponseRedirect(back)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        scope = people.office_scope_for(request.user)
        form = AgentAddForm(request.POST if request.method == "POST" else None, scope=scope)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            offices = dict(form.fields["office"].choices)
            try:
                agent = people.agent_add(
                    by=request.user, username=data["username"], first_name=data["first_name"],
                    last_name=data["last_name"], email=data["email"], office_id=data["office"],
                    office_name=offices.get(data["office"], ""), directory_entry=form.entry(),
                    brokerage_key=form.brokerage_key)
            except WriteRefused as exc:
                form.add_error(None, str(exc))
            else:
                link = request.build_absolute_uri(people.invite_path(agent))
                return TemplateResponse(request, "admin/contacts_app/agent_links.html", {
                    **self.admin_site.each_context(request), "title": f"Added {agent.get_full_name() or agent.username}",
                    "opts": self.opts, "links": [(agent, link)], "added": agent,
                })
        return TemplateResponse(request, "admin/contacts_app/agent_add.html", {
            **self.admin_site.each_context(request), "title": "Add an agent", "opts": self.opts, "form": form,
            "scope": scope, "brokerage_key": form.brokerage_key, "unlinked": list(form.entries.values()),
            "refresh_url": reverse("admin:agents_agent_refresh_directory"),
        }, status=422 if form.is_bound else 200)

    def changelist_view(self, request, extra_context=None):
        scope = people.office_scope_for(request.user)
        return super().changelist_view(request, {
            **(extra_context or {}), "scope": scope, "title": f"Agents — {scope.label}",
            "refresh_url": reverse("admin:agents_agent_refresh_directory"),
        })


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


admin_export.hook(AgentAdmin)  # the broker's CSV export of agents' books (admin_export.py)
