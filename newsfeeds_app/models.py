from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from contacts_app.models import Contact
from crm.agents.models import SparkAccount, TimeStamped
from crm.outbox.models import SparkWrite

from .schedules import ScheduleChoice


class NewsFeed(TimeStamped):
    """One of the agent's news feeds as Spark last gave it (a saved-search subscription, usually a contact's)."""

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="newsfeeds")
    spark_id = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200, blank=True)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="newsfeeds")
    contact_spark_id = models.CharField(max_length=40, blank=True, help_text="The contact's Spark Id, when known")
    subscription_id = models.CharField(max_length=40, blank=True)
    subscription_name = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    notifications_active = models.BooleanField(default=True)
    expires_on = models.DateField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "name"], name="newsfeed_account_name")]

    def __str__(self) -> str:
        return self.name or self.spark_id

    @property
    def delivers(self) -> bool:
        return self.active and self.notifications_active


class Schedule(TimeStamped):
    """A notification schedule: the agent's default (`feed` empty) or one feed's own.

    The row shows the agent's change at once; `last_write` is the outbox row taking it to Spark, and once it is
    confirmed the row holds what Spark answered. A removal keeps the row (`pending_delete`) until confirmed."""

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="newsfeed_schedules")
    feed = models.OneToOneField(NewsFeed, on_delete=models.CASCADE, null=True, blank=True, related_name="schedule")
    spark_id = models.CharField(max_length=40, blank=True)
    frequency = models.CharField(max_length=10, default="Instant")
    hours_of_day = ArrayField(models.SmallIntegerField(), null=True, blank=True)
    days_of_week = ArrayField(models.CharField(max_length=9), null=True, blank=True)
    days_of_month = ArrayField(models.SmallIntegerField(), null=True, blank=True)
    webhook_id = models.CharField(max_length=40, blank=True)
    pending_delete = models.BooleanField(default=False)
    last_write = models.ForeignKey(SparkWrite, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account"], condition=Q(feed__isnull=True), name="one_default_schedule"),
            models.CheckConstraint(condition=Q(frequency__in=["Instant", "Scheduled"]), name="schedule_frequency"),
        ]

    @property
    def choice(self) -> ScheduleChoice:
        return ScheduleChoice.build(self.frequency, self.hours_of_day, self.days_of_week, self.days_of_month)

    def apply(self, choice: ScheduleChoice) -> None:
        self.frequency = choice.frequency
        self.hours_of_day = list(choice.hours) if choice.hours else None
        self.days_of_week = list(choice.days_of_week) if choice.days_of_week else None
        self.days_of_month = list(choice.days_of_month) if choice.days_of_month else None

    @property
    def write_status(self) -> str:
        """"pending", "failed" or "" (what Spark holds)."""
        w = self.last_write
        if w is None:
            return ""
        if w.status in SparkWrite.OPEN:
            return "pending"
        return "failed" if w.status == SparkWrite.Status.FAILED else ""
