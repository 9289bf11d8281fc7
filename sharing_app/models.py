"""The sharing cache (listings, the agent's saved searches, the agent's shared links) and the links made here."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.utils import timezone

from contacts_app.models import Contact
from crm.agents.models import SparkAccount, TimeStamped
from crm.outbox.models import SparkWrite

MAX_LISTINGS = 200  # Shared Links page: "ListingIds … 200 listings max."


class Listing(TimeStamped):
    """A listing of the MLS as the picker and a link's page show it. One cache for every agent of the MLS."""

    spark_id = models.CharField(max_length=40, unique=True)
    mls_number = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    beds = models.IntegerField(null=True, blank=True)
    baths = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=40, blank=True)
    property_type = models.CharField(max_length=40, blank=True)
    photo_url = models.URLField(max_length=500, blank=True)
    spark_modified_at = models.DateTimeField(null=True, blank=True, db_index=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    search_text = models.TextField(blank=True, editable=False)

    class Meta:
        indexes = [
            GinIndex(OpClass("search_text", name="gin_trgm_ops"), name="listing_search_trgm"),
            models.Index(fields=["status", "price"], name="listing_status_price"),
        ]

    def __str__(self) -> str:
        return self.address or self.mls_number or self.spark_id


def listing_search_text(*parts: str) -> str:
    return " ".join(p.lower() for p in parts if p)


class SavedSearch(TimeStamped):
    """One of the agent's saved searches in flexmls (a link may share its results)."""

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="saved_searches")
    spark_id = models.CharField(max_length=40)
    name = models.CharField(max_length=200, blank=True)
    filter = models.TextField(blank=True)
    description = models.TextField(blank=True)
    spark_modified_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "spark_id"], name="saved_search_unique")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or self.spark_id


class SharedLink(TimeStamped):
    """A shared link: made here (with its outbox write) or found in flexmls by the sync."""

    class Kind(models.TextChoices):
        LISTINGS = "listings", "Listings"
        SEARCH = "search", "Saved search"

    class Type(models.TextChoices):
        DIRECT = "Direct", "Direct"
        INDIRECT = "Indirect", "Indirect"

    class State(models.TextChoices):
        ACTIVE = "active", "Live"
        PENDING = "pending", "Pending"
        FAILED = "failed", "Refused"
        DISCARDED = "discarded", "Discarded"

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="shared_links")
    spark_id = models.CharField(max_length=40, unique=True, null=True, blank=True)
    shared_uri = models.URLField(max_length=500, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    listing_ids = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    saved_search = models.ForeignKey(SavedSearch, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="shared_links")
    search_spark_id = models.CharField(max_length=40, blank=True)
    search_name = models.CharField(max_length=200, blank=True, help_text="The search's name when the link was made")
    contacts = models.ManyToManyField(Contact, blank=True, related_name="shared_links")
    contact_spark_ids = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    link_type = models.CharField(max_length=10, choices=Type.choices, default=Type.INDIRECT)
    mode = models.CharField(max_length=10, blank=True, help_text="Idx, Public or Vow: as Spark says, or as asked")
    shared_at = models.DateTimeField(default=timezone.now, help_text="Spark's CreatedTimestamp once known")
    write = models.ForeignKey(SparkWrite, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-shared_at"], name="shared_link_account_time")]

    def __str__(self) -> str:
        return self.spark_id or f"pending link {self.pk}"

    @property
    def state(self) -> str:
        status = self.write.status if self.write_id and self.write else None
        if self.spark_id and status not in SparkWrite.OPEN:
            # Not before its write settles: the Id is kept as soon as Spark gives it, the address comes a moment later.
            return self.State.ACTIVE
        if status == SparkWrite.Status.FAILED:
            return self.State.FAILED
        if status in (SparkWrite.Status.DISCARDED, SparkWrite.Status.CANCELLED):
            return self.State.DISCARDED
        return self.State.PENDING

    def get_state_display(self) -> str:
        return self.State(self.state).label

    def describe(self) -> str:
        if self.kind == self.Kind.SEARCH:
            return f"Saved search “{self.search_name or self.search_spark_id}”"
        n = len(self.listing_ids)
        return f"{n} listing{'s' if n != 1 else ''}"
