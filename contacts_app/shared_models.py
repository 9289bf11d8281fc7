"""A broker's "held by two agents on purpose": a group of the shared-clients page that no longer shows."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class SharedClientIntended(models.Model):
    """The broker marked these contacts (of different agents, sharing `key`) as intended. The group stays hidden
    while its contacts are among `contact_ids`; a new contact with the same key shows it again."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Phone"

    kind = models.CharField(max_length=5, choices=Kind.choices)
    key = models.TextField()
    contact_ids = ArrayField(models.BigIntegerField())
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        indexes = [models.Index(fields=["kind", "key"], name="shared_intended_key")]
        verbose_name = "client held by two agents on purpose"


class SharedClientKey(models.Model):
    """A key (e-mail or phone) that contacts of two or more agents held at the last check: the page's candidates.
    Refreshed as a whole by shared_clients.shared_keys_refresh (beat, or the broker's "Check again"); the page
    checks each candidate against the contacts as they are now, through the GIN-indexed keys."""

    kind = models.CharField(max_length=5, choices=SharedClientIntended.Kind.choices)
    key = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="shared_key_unique")]


class SharedClientCheck(models.Model):
    """The one row saying when the candidates were last computed, and how long it took."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    checked_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    keys = models.PositiveIntegerField(default=0)
    took_ms = models.PositiveIntegerField(default=0)
