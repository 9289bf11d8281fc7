from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models

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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "resource"], name="sync_state_unique")]


class Contact(TimeStamped):
    class RecordStatus(models.TextChoices):
        CONNECTED = "Connected"
        UNCONNECTED = "Unconnected"

    class WriteState(models.TextChoices):
        SYNCED = "", "Synced"
        PENDING = "pending", "Pending"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="contacts")
    spark_id = models.CharField(max_length=40, unique=True, null=True, blank=True)
    display_name = models.CharField(max_length=75)
    primary_email = models.CharField(max_length=75, blank=True)
    primary_phone = models.CharField(max_length=300, blank=True)
    tags = ArrayField(models.CharField(max_length=75), default=list, blank=True)
    record_status = models.CharField(max_length=12, choices=RecordStatus.choices, default=RecordStatus.CONNECTED)
    score = models.IntegerField(null=True, blank=True)
    relative_score = models.FloatField(null=True, blank=True)
    trend_7d = models.IntegerField(null=True, blank=True, help_text="Score change over the last 7 days")
    attributes = models.JSONField(default=dict, blank=True, help_text="Every other documented field, as Spark sent it")
    spark_modified_at = models.DateTimeField(null=True, blank=True)
    spark_created_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    write_state = models.CharField(max_length=10, choices=WriteState.choices, default=WriteState.SYNCED, blank=True)
    search_text = models.TextField(blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "display_name"], name="contact_owner_name"),
            models.Index(fields=["owner", "-score"], name="contact_owner_score"),
            models.Index(fields=["owner", "-spark_modified_at"], name="contact_owner_modified"),
            GinIndex(OpClass("search_text", name="gin_trgm_ops"), name="contact_search_trgm"),
            GinIndex(fields=["tags"], name="contact_tags"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def refresh_search_text(self) -> None:
        self.search_text = build_search_text(self.display_name, self.primary_email, self.primary_phone)


def build_search_text(name: str, email: str, phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return " ".join(part for part in (name.lower(), email.lower(), phone.lower(), digits) if part)
