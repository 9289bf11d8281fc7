"""The duplicates finder's state: each agent's last check (and its claim), the groups it found, and the pairs the
agent said are not duplicates (remembered for good: a recompute never brings them back)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from crm.agents.models import SparkAccount


class DuplicateCheck(models.Model):
    """When the agent's book was last checked, and who is checking it now (a claim: one check per agent at once)."""

    account = models.OneToOneField(SparkAccount, on_delete=models.CASCADE, primary_key=True,
                                   related_name="duplicate_check")
    checked_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True, help_text="When a check was last queued")
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Asked again while a check ran (contacts changed, or "check again"): the running one goes round once more.
    again = models.BooleanField(default=False)
    contacts_checked = models.PositiveIntegerField(default=0)
    took_ms = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)


class DuplicateGroup(models.Model):
    """Contacts of one agent that may be one person, and why (connected pairs)."""

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="duplicate_groups")
    contact_ids = ArrayField(models.BigIntegerField())
    reasons = models.JSONField(default=list, help_text="Why they matched, one line per reason")
    pairs = models.JSONField(default=list, help_text="[[a, b], ...]: the matching pairs (a < b)")
    best = models.FloatField(default=0, help_text="1 for a shared e-mail or phone, else the best name similarity")
    fingerprint = models.CharField(max_length=64, help_text="The members' ids, hashed: the same group across checks")
    found_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["account", "-best", "id"], name="dupgroup_account")]


class DuplicateDismissal(models.Model):
    """The agent said these two are not the same person."""

    account = models.ForeignKey(SparkAccount, on_delete=models.CASCADE, related_name="+")
    low = models.ForeignKey("contacts_app.Contact", on_delete=models.CASCADE, related_name="+")
    high = models.ForeignKey("contacts_app.Contact", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["low", "high"], name="dupdismissal_pair"),
                       models.CheckConstraint(condition=models.Q(low__lt=models.F("high")), name="dupdismissal_order")]
