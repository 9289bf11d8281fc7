from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

from crm.agents.models import SparkAccount, TimeStamped

# The rows of an agent's list: not waiting to be deleted, and not a create Spark refused (that one exists only
# here, in Needs attention). selectors.contact_list filters by exactly this; the sort indexes hold only these rows.
LIST_ROWS = Q(pending_delete=False) & ~Q(spark_id__isnull=True, write_state="failed")


# Sent once a merge has gone through in flexmls (kwargs: account_id, survivor_spark_id, other_spark_id,
# survivor_feeds_changed): the other contact, and with it its news feeds, is gone; the survivor may have gained feeds
# carried over. Other apps keep
# their own stores in step (news feeds: newsfeeds_app.tasks.refresh_after_merge).
contact_merged = Signal()


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


from .csv_models import CsvImport, CsvImportRow  # noqa: E402, F401 - the CSV import's models, registered with the app
from .duplicate_models import DuplicateCheck, DuplicateDismissal, DuplicateGroup  # noqa: E402, F401 - the finder's
from .shared_models import SharedClientCheck, SharedClientIntended, SharedClientKey  # noqa: E402, F401
