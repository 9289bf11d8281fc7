"""The Agents page: the office's logins, adding one, disabling, password links, resync and offboarding."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timesince import timesince

from crm.agents.models import Agent, AgentDirectoryEntry, SparkAccount, SyncState
from crm.outbox.models import SparkWrite
from crm.outbox.queue import WriteRefused

from .. import admin_services, offboarding, people
from ..activity import activity_coverage
from ..models import Contact
from .base import ReadOnlyAdmin, _badge, _perm, _plural, _selected_ids


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
