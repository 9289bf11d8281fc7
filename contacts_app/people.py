"""A broker's people: which office a broker runs, the agents in it, and what a broker does to their logins.

Office scope
------------
A broker is bound to one office by an OfficeMember row (set by `demo_setup` for the demo broker, or by a superuser
in the admin); `mls_wide` makes an MLS-admin broker who sees every office. A superuser sees everything. A staff
login with no binding sees no office at all: the safe default. An agent's office is their flexmls link's
(SparkAccount.office_id), or, before they have one, the OfficeMember row the broker's "Add agent" made.

Logins
------
A broker never sees or sets a password: an added agent, and an agent whose password is reset, gets a one-time
link to set their own (Django's password-reset token: it stops working once used, or after
PASSWORD_RESET_TIMEOUT). A disabled agent (`is_active=False`) cannot log in and loses any open session; their
queued changes stay in the outbox and still go to flexmls. Every change here is an audit event (source admin).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from crm.agents.models import Agent, AgentDirectoryEntry, OfficeMember, SparkAccount
from crm.outbox.models import AuditEvent, SparkWrite
from crm.outbox.queue import WriteRefused

from .services import _actor_name


@dataclass(frozen=True)
class OfficeScope:
    """What a broker may see: every office (`everything`), one office, or none."""

    everything: bool
    office_id: str = ""
    office_name: str = ""

    @property
    def label(self) -> str:
        if self.everything:
            return "every office"
        return self.office_name or self.office_id or "no office"

    def q(self, office_field: str) -> Q:
        """Rows whose `office_field` (a lookup path ending in an office id) is in scope."""
        if self.everything:
            return Q()
        if not self.office_id:
            return Q(pk__in=[])
        return Q(**{office_field: self.office_id})


def office_scope_for(user) -> OfficeScope:
    if user.is_superuser:
        return OfficeScope(everything=True)
    member = OfficeMember.objects.filter(user=user).first()
    if member is None:
        return OfficeScope(everything=False)
    if member.mls_wide:
        return OfficeScope(everything=True)
    return OfficeScope(everything=False, office_id=member.office_id, office_name=member.office_name)


def agent_office_q(scope: OfficeScope, prefix: str = "") -> Q:
    """Agents (users) in scope: by their flexmls link's office, or by the office a broker added them to."""
    if scope.everything:
        return Q()
    linked = scope.q(f"{prefix}spark_account__office_id")
    unlinked = Q(**{f"{prefix}spark_account__isnull": True}) & scope.q(f"{prefix}office_member__office_id")
    return linked | unlinked


def agent_list(*, scope: OfficeScope) -> QuerySet[Agent]:
    """The agents a broker runs: logins without admin access, in the broker's office."""
    return Agent.objects.filter(is_staff=False, is_superuser=False).filter(agent_office_q(scope))


def broker_office_list(*, scope: OfficeScope) -> list[tuple[str, str]]:
    """(office id, name) of the offices a broker may add an agent to."""
    if not scope.everything:
        return [(scope.office_id, scope.office_name or scope.office_id)] if scope.office_id else []
    found = dict(AgentDirectoryEntry.objects.values_list("office_id", "office_name"))
    found.update(SparkAccount.objects.exclude(office_id="").values_list("office_id", "office_name"))
    return sorted(((oid, name or oid) for oid, name in found.items() if oid), key=lambda r: r[1])


def directory_unlinked_list(*, scope: OfficeScope) -> list[AgentDirectoryEntry]:
    """Agents of the office in Spark's directory who have no login in the CRM yet."""
    linked = SparkAccount.objects.values_list("spark_user_id", flat=True)
    return list(AgentDirectoryEntry.objects.filter(scope.q("office_id")).exclude(spark_user_id__in=linked)
                .order_by("office_name", "name"))


def agent_office(agent) -> tuple[str, str]:
    account = SparkAccount.objects.filter(user=agent).first()
    if account is not None:
        return account.office_id, account.office_name
    member = OfficeMember.objects.filter(user=agent).first()
    return (member.office_id, member.office_name) if member else ("", "")


def _people_event(*, by, agent, action: str, message: str, after: dict | None = None) -> AuditEvent:
    office_id, office_name = agent_office(agent)
    return AuditEvent.objects.create(
        actor=by if by is not None and by.is_authenticated else None, actor_name=_actor_name(by),
        source=SparkWrite.Source.ADMIN, account=SparkAccount.objects.filter(user=agent).first(), action=action,
        outcome=AuditEvent.Outcome.DONE, message=message,
        after={"login": agent.get_username(), "office_id": office_id, "office_name": office_name, **(after or {})},
    )


def invite_path(agent) -> str:
    """The one-time link (path) where the agent sets their own password."""
    return reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(agent.pk)), "token": default_token_generator.make_token(agent)})


@transaction.atomic
def agent_add(*, by, username: str, first_name: str, last_name: str, email: str, office_id: str,
              office_name: str, directory_entry: AgentDirectoryEntry | None = None,
              brokerage_key: bool = False) -> Agent:
    """A new agent login without a password (they set it through `invite_path`). With a directory entry and the
    brokerage key, the CRM acts for them in flexmls with ApiUser at once; otherwise they link themselves (OAuth)."""
    if Agent.objects.filter(username__iexact=username).exists():
        raise WriteRefused(f"The login {username} is taken.")
    agent = Agent(username=username, first_name=first_name, last_name=last_name, email=email)
    agent.set_unusable_password()
    agent.save()
    OfficeMember.objects.create(user=agent, office_id=office_id, office_name=office_name)
    link = "left to link flexmls themselves"
    if directory_entry is not None:
        if not brokerage_key:
            raise WriteRefused("Linking from the directory needs the brokerage key (SPARK_API_KEY); leave the agent "
                               "to link flexmls themselves instead.")
        account = SparkAccount.objects.create(
            user=agent, spark_user_id=directory_entry.spark_user_id, name=directory_entry.name,
            email=directory_entry.email, office_id=directory_entry.office_id,
            office_name=directory_entry.office_name, auth_mode=SparkAccount.AuthMode.API_USER,
        )
        from .tasks import sync_agent_contacts

        transaction.on_commit(functools.partial(sync_agent_contacts.delay, account.pk, True))
        link = f"linked to {directory_entry.name} in flexmls (brokerage key)"
    _people_event(by=by, agent=agent, action="agent_added",
                  message=f"Added {agent.get_full_name() or username} ({username}), {link}")
    return agent


@transaction.atomic
def agent_login_set(*, by, agent, active: bool, why: str = "") -> bool:
    """Enable or disable a login. False when it already was so. A disabled agent's queued changes are kept."""
    changed = Agent.objects.filter(pk=agent.pk, is_active=not active).update(is_active=active)
    if not changed:
        return False
    agent.is_active = active
    waiting = SparkWrite.objects.filter(account__user=agent, status__in=SparkWrite.OPEN).count()
    text = f"{'Enabled' if active else 'Disabled'} the login of {agent.get_full_name() or agent.get_username()}"
    if why:
        text += f" ({why})"
    if not active and waiting:
        text += f"; {waiting} queued change{'s' if waiting != 1 else ''} kept"
    _people_event(by=by, agent=agent, action="login_enabled" if active else "login_disabled", message=text,
                  after={"is_active": active})
    return True


@transaction.atomic
def agent_password_reset(*, by, agent) -> str:
    """The current password stops working; returns the one-time link (path) for the agent to set a new one."""
    agent.set_unusable_password()
    agent.save(update_fields=["password"])
    _people_event(by=by, agent=agent, action="password_reset",
                  message=f"Gave {agent.get_full_name() or agent.get_username()} a one-time link to set a password")
    return invite_path(agent)
