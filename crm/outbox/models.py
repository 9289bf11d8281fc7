"""The outbox: every change on its way to Spark (SparkWrite), the bulk jobs that make many of them, and the
append-only audit log. The tables kept their names (contacts_app_*) when the models moved here (migration 0001).

A write may concern a contact (contacts_app.Contact, named by a string: this app imports no product app).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from crm.agents.models import SparkAccount, TimeStamped
from crm.spark.errors import SparkConflict, SparkForbidden, error_class_for


class BulkJob(TimeStamped):
    """One bulk action over many contacts (or their news feeds); its writes carry the per-item results, and
    `params["skipped"]` the items that got no write and why. Every kind runs through crm/outbox/bulk.py."""

    class Kind(models.TextChoices):
        TAG_ADD = "tag_add", "Tag"
        TAG_REMOVE = "tag_remove", "Untag"
        TRANSFER = "transfer", "Transfer"
        DELETE = "delete", "Delete"
        CSV_IMPORT = "csv_import", "Import"
        # newsfeeds_app: one schedule (params: remove, choice, sentence) for every feed of the contacts.
        SCHEDULE = "schedule", "Schedule"
        # contacts_app: merge obvious duplicate groups (params: groups, survivor first), one merge write per member.
        MERGE = "merge", "Merge duplicates"

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

    class Meta:
        db_table = "contacts_app_bulkjob"

    def describe(self) -> str:
        label = self.get_kind_display()
        if self.kind in (self.Kind.TAG_ADD, self.Kind.TAG_REMOVE):
            return f"{label} “{self.params.get('tag', '')}”"
        if self.kind == self.Kind.TRANSFER:
            return f"{label} to {self.params.get('owner_name') or self.params.get('owner_id')}"
        if self.kind == self.Kind.SCHEDULE:
            return "Use the default schedule" if self.params.get("remove") else \
                f"Schedule: {self.params.get('sentence', '')}"
        if self.kind == self.Kind.MERGE:
            groups = len(self.params.get("groups", []))
            return f"Merge {groups} obvious duplicate group{'' if groups == 1 else 's'}"
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
        # Two duplicates made one (contacts_app): PUT the survivor's changed fields, then DELETE the other.
        MERGE = "merge", "Merge"
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
    contact = models.ForeignKey("contacts_app.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="writes")
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
        db_table = "contacts_app_sparkwrite"
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
        if self.kind == self.Kind.MERGE:
            return f"Merge “{p.get('other_name', '')}” into this contact"
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
    contact = models.ForeignKey("contacts_app.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events")
    contact_spark_id = models.CharField(max_length=40, blank=True)
    contact_name = models.CharField(max_length=75, blank=True)
    write = models.ForeignKey(SparkWrite, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    action = models.CharField(max_length=20)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    message = models.TextField(blank=True)

    class Meta:
        db_table = "contacts_app_auditevent"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["contact", "-created_at"], name="audit_contact")]
        verbose_name = "audit event"
        verbose_name_plural = "audit log"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only")
        super().save(*args, **kwargs)
