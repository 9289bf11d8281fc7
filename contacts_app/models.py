from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from crm import crypto
from crm.spark.errors import SparkConflict, SparkForbidden, error_class_for


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


# The rows of an agent's list: not waiting to be deleted, and not a create Spark refused (that one exists only
# here, in Needs attention). selectors.contact_list filters by exactly this; the sort indexes hold only these rows.
LIST_ROWS = Q(pending_delete=False) & ~Q(spark_id__isnull=True, write_state="failed")


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
    # Spark keeps tags longer than the 75 characters an agent may type here; the store keeps them whole.
    tags = ArrayField(models.TextField(), default=list, blank=True)
    record_status = models.CharField(max_length=12, choices=RecordStatus.choices, default=RecordStatus.CONNECTED)
    score = models.IntegerField(null=True, blank=True)
    relative_score = models.FloatField(null=True, blank=True)
    trend_7d = models.IntegerField(null=True, blank=True, help_text="Score change over the last 7 days")
    activity_fetched_at = models.DateTimeField(
        null=True, blank=True, help_text="When the 30-day series (and so trend_7d) was last read from Spark")
    attributes = models.JSONField(default=dict, blank=True, help_text="Every other documented field, as Spark sent it")
    spark_modified_at = models.DateTimeField(null=True, blank=True)
    spark_created_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    write_state = models.CharField(max_length=10, choices=WriteState.choices, default=WriteState.SYNCED, blank=True)
    pending_delete = models.BooleanField(default=False, help_text="Deleted here; hidden while the delete waits to go out")
    search_text = models.TextField(blank=True, editable=False)
    # The duplicates finder's keys (duplicates.email_key / phone_key of every e-mail and phone the contact holds),
    # kept by a PostgreSQL trigger from the stored fields (migration 0014_duplicate_finder): never set them here.
    email_keys = ArrayField(models.TextField(), default=list, blank=True, editable=False)
    phone_keys = ArrayField(models.TextField(), default=list, blank=True, editable=False)

    class Meta:
        # Each list sort has an index matching its exact ORDER BY (nulls last, id as tie-break), so a page of
        # 50 out of 50,000 is read from the index instead of sorting every row. They hold only the list's rows
        # (LIST_ROWS, the list's own filter), so a deep page is counted off the index alone (an index-only scan
        # of ids, see selectors.DeferredJoinRows) instead of reading every row it skips.
        indexes = [
            models.Index("owner", "display_name", "id", name="contact_owner_name", condition=LIST_ROWS),
            models.Index("owner", F("score").desc(nulls_last=True), F("id").desc(), name="contact_owner_score",
                         condition=LIST_ROWS),
            models.Index("owner", F("relative_score").desc(nulls_last=True), F("id").desc(),
                         name="contact_owner_relative", condition=LIST_ROWS),
            models.Index("owner", F("trend_7d").desc(nulls_last=True), F("id").desc(), name="contact_owner_trend",
                         condition=LIST_ROWS),
            # "Falling this week" puts unknown trends last too, which the reverse of the index above cannot give.
            models.Index("owner", F("trend_7d").asc(nulls_last=True), F("id").asc(), name="contact_owner_trend_asc",
                         condition=LIST_ROWS),
            models.Index("owner", F("spark_modified_at").desc(nulls_last=True), F("id").desc(),
                         name="contact_owner_modified", condition=LIST_ROWS),
            # The list's poll asks whether any of the agent's contacts changed since its rows were rendered.
            models.Index("owner", "updated_at", name="contact_owner_updated"),
            GinIndex(OpClass("search_text", name="gin_trgm_ops"), name="contact_search_trgm"),
            GinIndex(fields=["tags"], name="contact_tags"),
            GinIndex(fields=["email_keys"], name="contact_email_keys"),
            GinIndex(fields=["phone_keys"], name="contact_phone_keys"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def trend_known(self) -> bool:
        """Has the 7-day trend been read from Spark (the 30-day series of this contact)?"""
        return self.trend_7d is not None

    @property
    def trend_age(self) -> dt.timedelta | None:
        """How old the trend is: the time since its series was read, or None if it never was."""
        if self.trend_7d is None or self.activity_fetched_at is None:
            return None
        return max(dt.timedelta(0), timezone.now() - self.activity_fetched_at)

    @property
    def trend_stale(self) -> bool:
        """Older than the refresher's target age (ACTIVITY_REFRESH_S): it is due to be read again."""
        age = self.trend_age
        return age is not None and age.total_seconds() > settings.ACTIVITY_REFRESH_S

    def refresh_search_text(self) -> None:
        self.search_text = build_search_text(self.display_name, self.primary_email, self.primary_phone)


def build_search_text(name: str, email: str, phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return " ".join(part for part in (name.lower(), email.lower(), phone.lower(), digits) if part)


class ContactCount(models.Model):
    """How many contacts the agent's list holds (not pending delete, not a create Spark refused), kept by
    PostgreSQL triggers on Contact (migration 0012_speed_contact_counts) in the same transaction as every insert,
    update, delete and truncate, whatever code made it: the list's total without counting 50,000 rows."""

    owner = models.OneToOneField(SparkAccount, on_delete=models.CASCADE, primary_key=True, related_name="+")
    live = models.IntegerField(default=0)


class ContactActivity(models.Model):
    """A contact's activity figures as Spark last gave them, with when they were fetched."""

    class Unavailable(models.TextChoices):
        NO = "", "Readable"
        NOT_FOUND = "not_found", "Not found in flexmls"
        FORBIDDEN = "forbidden", "Not readable with this key's role"
        ERROR = "error", "flexmls refused it"

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="activity")
    daily = models.JSONField(default=list, blank=True, help_text="30 days of {date, score, relative_score}")
    manual_emails_sent = models.IntegerField(null=True, blank=True)
    manual_emails_opened = models.IntegerField(null=True, blank=True)
    subscription_emails_sent = models.IntegerField(null=True, blank=True)
    subscription_emails_opened = models.IntegerField(null=True, blank=True)
    listings_viewed = models.IntegerField(null=True, blank=True)
    listings_shared = models.IntegerField(null=True, blank=True)
    viewed_listings = models.JSONField(default=list, blank=True)
    shared_listings = models.JSONField(default=list, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Spark would not give this contact's activity (404: gone or not the agent's; 403: the key's role may not read
    # it). Recorded, and not asked again before `retry_at`, so the refresher never loops on it.
    unavailable = models.CharField(max_length=20, choices=Unavailable.choices, default=Unavailable.NO, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True, help_text="Not read again before this (after a refusal)")
    failures = models.PositiveSmallIntegerField(default=0, help_text="Refusals in a row")
    fetched_score = models.IntegerField(null=True, blank=True, help_text="The contact's Score when the series was read")


class AgentDirectoryEntry(models.Model):
    """Agents of an office as Spark lists them (/accounts/by/office/<Id>): whom a contact may go to."""

    spark_user_id = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    email = models.CharField(max_length=200, blank=True)
    office_id = models.CharField(max_length=40, db_index=True)
    office_name = models.CharField(max_length=200, blank=True)
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "office directory entry"
        verbose_name_plural = "office directory"

    def __str__(self) -> str:
        return f"{self.name} ({self.office_name or self.office_id})"


class BulkJob(TimeStamped):
    """One bulk action over many contacts; its writes carry the per-contact results."""

    class Kind(models.TextChoices):
        TAG_ADD = "tag_add", "Tag"
        TAG_REMOVE = "tag_remove", "Untag"
        TRANSFER = "transfer", "Transfer"
        DELETE = "delete", "Delete"
        CSV_IMPORT = "csv_import", "Import"

    class Status(models.TextChoices):
        PREPARING = "preparing", "Preparing"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Stopped"
        CANCELLED = "cancelled", "Cancelled"

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="bulk_jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    contact_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREPARING)
    total = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=10, default="bulk")
    finished_at = models.DateTimeField(null=True, blank=True)
    # Preparation is claimed like a write: a worker that dies mid-way lets its claim run out and the outbox sweep
    # hands the job to another (up to BULK_PREPARE_MAX_TRIES, then the job stops with `failure_reason`).
    claimed_until = models.DateTimeField(null=True, blank=True)
    prepare_tries = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)

    def describe(self) -> str:
        label = self.get_kind_display()
        if self.kind in (self.Kind.TAG_ADD, self.Kind.TAG_REMOVE):
            return f"{label} “{self.params.get('tag', '')}”"
        if self.kind == self.Kind.TRANSFER:
            return f"{label} to {self.params.get('owner_name') or self.params.get('owner_id')}"
        return label


class SparkWrite(TimeStamped):
    """The outbox: one change on its way to Spark. Saved with the store change in one transaction."""

    class Kind(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Edit"
        DELETE = "delete", "Delete"
        TAG_ADD = "tag_add", "Tag"
        TAG_REMOVE = "tag_remove", "Untag"
        TRANSFER = "transfer", "Transfer"
        CONNECT = "connect", "Connect"
        # News feed schedules (newsfeeds_app) and shared links (sharing_app) use the same outbox.
        DEFAULT_SCHEDULE_SET = "default_schedule_set", "Set default schedule"
        DEFAULT_SCHEDULE_DELETE = "default_schedule_del", "Remove default schedule"
        FEED_SCHEDULE_SET = "feed_schedule_set", "Set feed schedule"
        FEED_SCHEDULE_DELETE = "feed_schedule_del", "Remove feed schedule"
        SHARED_LINK_CREATE = "shared_link_create", "Create shared link"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        IN_FLIGHT = "in_flight", "Sending"
        CONFIRMED = "confirmed", "Confirmed"
        FAILED = "failed", "Failed"
        DISCARDED = "discarded", "Discarded"
        CANCELLED = "cancelled", "Undone"

    class Source(models.TextChoices):
        PAGE = "page", "Page"
        BULK = "bulk", "Bulk job"
        ADMIN = "admin", "Admin"
        SYSTEM = "system", "Background job"

    OPEN = (Status.QUEUED, Status.IN_FLIGHT)
    FINAL = (Status.CONFIRMED, Status.FAILED, Status.DISCARDED, Status.CANCELLED)

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="writes")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="writes")
    contact_name = models.CharField(max_length=75, blank=True, help_text="The contact's name when the write was made")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When it was first sent (or sent again "
                                            "by the agent's Retry)")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    spark_status = models.IntegerField(null=True, blank=True)
    spark_code = models.IntegerField(null=True, blank=True)
    spark_message = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.PAGE)
    bulk_job = models.ForeignKey(BulkJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="writes")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    discard_reason = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="write_due"),
            models.Index(fields=["contact", "id"], name="write_contact_order"),
            models.Index(fields=["account", "status"], name="write_account_status"),
        ]
        verbose_name = "change sent to flexmls"
        verbose_name_plural = "changes sent to flexmls"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.contact_name} ({self.get_status_display()})"

    @property
    def retryable(self) -> bool:
        """Could sending it again succeed? Not after a refusal Spark would repeat: a duplicate (409) or a
        permission it does not give (403). Derived from Spark's status and code, as the client maps them."""
        if self.spark_status is None and self.spark_code is None:
            return True
        return not issubclass(error_class_for(self.spark_status or 0, self.spark_code), (SparkConflict, SparkForbidden))

    def describe(self) -> str:
        p = self.payload
        if self.kind in (self.Kind.TAG_ADD, self.Kind.TAG_REMOVE):
            return f"{self.get_kind_display()} “{p.get('tag', '')}”"
        if self.kind == self.Kind.TRANSFER:
            return f"Transfer to {p.get('owner_name') or p.get('owner_id')}"
        if self.kind == self.Kind.UPDATE:
            return "Edit " + ", ".join(sorted(p.get("changes", {})))
        if self.kind in (self.Kind.DEFAULT_SCHEDULE_SET, self.Kind.FEED_SCHEDULE_SET):
            target = "default schedule" if self.kind == self.Kind.DEFAULT_SCHEDULE_SET else \
                f"schedule of “{p.get('feed_name', '')}”"
            return f"Set {target}: {p.get('sentence', '')}".rstrip(": ")
        if self.kind in (self.Kind.DEFAULT_SCHEDULE_DELETE, self.Kind.FEED_SCHEDULE_DELETE):
            target = "default schedule" if self.kind == self.Kind.DEFAULT_SCHEDULE_DELETE else \
                f"own schedule of “{p.get('feed_name', '')}”"
            return f"Remove the {target}"
        if self.kind == self.Kind.SHARED_LINK_CREATE:
            if p.get("search_id"):
                what = f"Share saved search “{p.get('search_name') or p['search_id']}”"
            else:
                n = len(p.get("listing_ids") or [])
                what = f"Share {n} listing{'s' if n != 1 else ''}"
            names = p.get("contact_names") or []
            return what + (f" with {', '.join(names[:3])}{' and others' if len(names) > 3 else ''}" if names else "")
        return self.get_kind_display()


class AuditEvent(models.Model):
    """Append-only record of every change made through the app and of its Spark outcome."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        CONFIRMED = "confirmed", "Confirmed by Spark"
        FAILED = "failed", "Refused by Spark"
        DISCARDED = "discarded", "Discarded"
        CANCELLED = "cancelled", "Undone"
        RETRIED = "retried", "Retried"
        DONE = "done", "Done (nothing sent to flexmls)"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=10, choices=SparkWrite.Source.choices)
    account = models.ForeignKey(SparkAccount, on_delete=models.SET_NULL, null=True, blank=True)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events")
    contact_spark_id = models.CharField(max_length=40, blank=True)
    contact_name = models.CharField(max_length=75, blank=True)
    write = models.ForeignKey(SparkWrite, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    action = models.CharField(max_length=20)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["contact", "-created_at"], name="audit_contact")]
        verbose_name = "audit event"
        verbose_name_plural = "audit log"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)


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


from .csv_models import CsvImport, CsvImportRow  # noqa: E402, F401 - the CSV import's models, registered with the app
from .duplicate_models import DuplicateCheck, DuplicateDismissal, DuplicateGroup  # noqa: E402, F401 - the finder's
