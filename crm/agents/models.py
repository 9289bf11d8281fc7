"""Who is who: the Django user's link to their Spark account, the office directory, the sync state per agent.

The tables kept their names (contacts_app_*) when the models moved here from contacts_app (migration 0001).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone

from crm import crypto


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class SparkAccount(TimeStamped):
    """An agent's link to their Spark (flexmls) user: who they are there and how the app acts for them."""

    class AuthMode(models.TextChoices):
        API_KEY = "api_key", "Own API key"
        API_USER = "api_user", "Brokerage key with ApiUser"
        OAUTH = "oauth", "OAuth 2"

    class LinkStatus(models.TextChoices):
        LINKED = "linked", "Linked"
        BROKEN = "broken", "Needs reconnecting"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="spark_account")
    spark_user_id = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=200, blank=True)
    office_id = models.CharField(max_length=40, blank=True)
    office_name = models.CharField(max_length=200, blank=True)
    mls_admin = models.BooleanField(default=False)
    auth_mode = models.CharField(max_length=10, choices=AuthMode.choices, default=AuthMode.API_KEY)
    api_key = models.CharField(max_length=100, blank=True)
    api_secret_encrypted = models.TextField(blank=True)
    access_token_encrypted = models.TextField(blank=True)
    refresh_token_encrypted = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    link_status = models.CharField(max_length=10, choices=LinkStatus.choices, default=LinkStatus.LINKED)
    link_error = models.TextField(blank=True)

    class Meta:
        db_table = "contacts_app_sparkaccount"
        verbose_name = "flexmls link"

    def __str__(self) -> str:
        return f"{self.name or self.user} ({self.spark_user_id})"

    @property
    def api_secret(self) -> str:
        return crypto.decrypt(self.api_secret_encrypted)

    @api_secret.setter
    def api_secret(self, value: str) -> None:
        self.api_secret_encrypted = crypto.encrypt(value)


class SyncState(TimeStamped):
    """Where the store stands against Spark for one agent and one resource; its claim makes syncs exclusive."""

    class Status(models.TextChoices):
        IDLE = "idle", "Idle"
        RUNNING = "running", "Running"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="sync_states")
    resource = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=40, blank=True)
    cursor = models.DateTimeField(null=True, blank=True, help_text="Newest Spark ModificationTimestamp seen")
    last_full_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    skipped = models.PositiveIntegerField(default=0, help_text="Records of the last sync the store could not take")
    skipped_detail = models.TextField(blank=True, help_text="Which records were skipped, and why")

    class Meta:
        db_table = "contacts_app_syncstate"
        constraints = [models.UniqueConstraint(fields=["account", "resource"], name="sync_state_unique")]

    @property
    def is_running(self) -> bool:
        """Running under a live claim; a "running" row whose claim ran out belongs to a worker that stopped."""
        return self.status == self.Status.RUNNING and self.claimed_until is not None and \
            self.claimed_until > timezone.now()

    @property
    def is_stalled(self) -> bool:
        return self.status == self.Status.RUNNING and not self.is_running

    @property
    def failure_reason(self) -> str:
        return "worker stopped mid-sync" if self.is_stalled else self.last_error


class AgentDirectoryEntry(models.Model):
    """Agents of an office as Spark lists them (/accounts/by/office/<Id>): whom a contact may go to."""

    spark_user_id = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    email = models.CharField(max_length=200, blank=True)
    office_id = models.CharField(max_length=40, db_index=True)
    office_name = models.CharField(max_length=200, blank=True)
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "contacts_app_agentdirectoryentry"
        verbose_name = "office directory entry"
        verbose_name_plural = "office directory"

    def __str__(self) -> str:
        return f"{self.name} ({self.office_name or self.office_id})"


class OfficeMember(TimeStamped):
    """Which office a login belongs to in the CRM, where its flexmls link does not say (or it has none).

    A broker's row binds them to the office they run (`mls_wide`: every office of the MLS, for an MLS-admin broker);
    an agent a broker added before their flexmls link exists gets the broker's office. A linked agent's office is
    their SparkAccount's.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="office_member")
    office_id = models.CharField(max_length=40, blank=True, db_index=True)
    office_name = models.CharField(max_length=200, blank=True)
    mls_wide = models.BooleanField(default=False, help_text="An MLS-admin broker: sees every office")

    class Meta:
        db_table = "contacts_app_officemember"

    def __str__(self) -> str:
        return f"{self.user} — {'the whole MLS' if self.mls_wide else self.office_name or self.office_id}"


class Agent(User):
    """An agent's login as the broker's Agents page sees it (a proxy of the user; brokers are not agents)."""

    class Meta:
        proxy = True
        verbose_name = "agent"
        verbose_name_plural = "agents"
        permissions = [
            ("disable_agent", "Can disable or enable an agent's login"),
            ("reset_agent_password", "Can give an agent a one-time link to set a new password"),
        ]
