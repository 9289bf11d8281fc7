"""Delivering the outbox to Spark: claim a write, send it, settle it — exactly once, in order per contact.

A write is claimed by a conditional UPDATE (queued → in flight), so a redelivered Celery message or a second
worker does nothing. A retryable failure puts it back in the queue with backoff; a permanent one marks it
failed with Spark's message for the agent to retry or discard. A claim that outlives its worker (SIGKILL)
expires and the sweep puts the write back; every handler is safe to run again after an unknown outcome.
No write is retried forever: after settings.OUTBOX_MAX_ATTEMPTS failed attempts (Spark's errors or our own, such
as an IntegrityError) it is marked failed with the reason, for the agent to retry or discard.

The handler of each kind of write, and what follows its settling, come from the apps (registry.py).
Locks are taken in the order of locks.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.agents.linking import spark_account_mark_broken
from crm.agents.spark import client_for_account
from crm.spark import SparkError
from crm.spark.errors import SparkAuthError, SparkRateLimited
from crm.spark.ratelimit import RateLimitTimeout

from . import registry
from .models import AuditEvent, SparkWrite
from .registry import Permanent

log = logging.getLogger(__name__)


def _contact_model():
    """The model a write's contact is (contacts_app.Contact), without importing the app that holds it."""
    return SparkWrite._meta.get_field("contact").related_model


def claim_ttl() -> dt.timedelta:
    return dt.timedelta(seconds=settings.OUTBOX_CLAIM_S)


def backoff_delay(attempts: int) -> float:
    ceiling = min(settings.OUTBOX_BACKOFF_CAP_S, settings.OUTBOX_BACKOFF_BASE_S * (2 ** max(0, attempts - 1)))
    return random.uniform(ceiling / 2, ceiling)


class _ClaimKeepingLimiter:
    """Wraps the shared rate limiter so that a write waiting for a slot keeps its claim: the claim is renewed
    before every wait step and after the slot is granted, so the sweep never hands a live write to a second
    worker however long the limiter makes it wait (a create must never be posted twice)."""

    STEP_S = 2.0

    def __init__(self, inner, write_id: int, sleep=time.sleep) -> None:
        self.inner = inner
        self.write_id = write_id
        self._sleep = sleep

    def _renew(self) -> None:
        SparkWrite.objects.filter(pk=self.write_id, status=SparkWrite.Status.IN_FLIGHT).update(
            claimed_until=timezone.now() + claim_ttl()
        )

    def acquire(self, member=None) -> float:
        waited = 0.0
        while True:
            self._renew()
            wait = self.inner.try_acquire(member)
            if wait <= 0:
                self._renew()
                return waited
            if waited + wait > self.inner.max_wait_s:
                raise RateLimitTimeout(f"Spark rate limit: no slot within {self.inner.max_wait_s:.0f}s")
            step = min(wait + 0.01, self.STEP_S)
            self._sleep(step)
            waited += step

    def __getattr__(self, name):
        return getattr(self.inner, name)


_Permanent = Permanent


class _Unexpected(SparkError):
    """An error of ours (a bug, an IntegrityError, a DataError): retried like a 5xx, and counted like one."""

    retryable = True


def _unexpected_message(exc: Exception) -> str:
    detail = (str(exc).strip().splitlines() or [""])[0][:200]
    what = "the database refused a change" if isinstance(exc, DatabaseError) else "an internal error occurred"
    return f"Not sent: {what} ({type(exc).__name__}{': ' + detail if detail else ''})."


# -- the delivery loop ------------------------------------------------------------------------------------


def write_claim(write_id: int) -> SparkWrite | None:
    now = timezone.now()
    claimed = (
        SparkWrite.objects.filter(pk=write_id, status=SparkWrite.Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=SparkWrite.Status.IN_FLIGHT, claimed_until=now + claim_ttl(),
                attempts=F("attempts") + 1, first_attempt_at=Coalesce(F("first_attempt_at"), now), updated_at=now)
    )
    if not claimed:
        return None
    return SparkWrite.objects.select_related("account", "contact").get(pk=write_id)


def _audit(write: SparkWrite, outcome: str, message: str = "") -> None:
    AuditEvent.objects.create(
        actor=None, actor_name="Spark outbox", source=SparkWrite.Source.SYSTEM, account=write.account,
        contact_id=write.contact_id if _contact_model().objects.filter(pk=write.contact_id).exists() else None,
        contact_spark_id=(write.contact.spark_id or "") if write.contact else write.payload.get("spark_id", ""),
        contact_name=write.contact_name, write=write, action=write.kind, outcome=outcome, message=message,
    )


def write_deliver(write_id: int) -> str:
    """Send one outbox write to Spark. Returns what happened (for logs and tests)."""
    write = write_claim(write_id)
    if write is None:
        return "skipped"
    if write.contact_id and SparkWrite.objects.filter(
        contact_id=write.contact_id, id__lt=write.id, status__in=SparkWrite.OPEN
    ).exists():
        # An earlier change to this contact goes first; this one waits its turn (and is sent again when the
        # earlier one settles, or shortly in any case).
        SparkWrite.objects.filter(pk=write.pk).update(
            status=SparkWrite.Status.QUEUED, attempts=F("attempts") - 1, claimed_until=None, next_attempt_at=None,
        )
        from .tasks import deliver_write

        deliver_write.apply_async((write.pk,), countdown=2)
        return "waiting"
    client = client_for_account(write.account, max_retries=0)
    if client.rate_limiter is not None:
        client.rate_limiter = _ClaimKeepingLimiter(client.rate_limiter, write.pk)
    try:
        # No transaction around the HTTP calls: each local step commits on its own, and every handler
        # can run again after an unknown outcome.
        registry.HANDLERS[write.kind](client, write)
        with transaction.atomic():
            SparkWrite.objects.filter(pk=write.pk).update(
                status=SparkWrite.Status.CONFIRMED, confirmed_at=timezone.now(), claimed_until=None,
                spark_status=None, spark_code=None, spark_message="", updated_at=timezone.now(),
            )
            _audit(write, AuditEvent.Outcome.CONFIRMED)
            # In the same commit: a page read between the two must never show a confirmed write on a contact
            # still marked pending.
            for settled in registry.SETTLED:
                settled(write)
    except SparkError as exc:
        return _settle_failure(write, exc)
    except _Permanent as exc:
        return _settle_failure(write, exc)
    except Exception as exc:
        # A bug of ours must not lose the write: it is retried with backoff and logged, and once it has failed
        # OUTBOX_MAX_ATTEMPTS times it is shown failed with the error (never an endless loop).
        log.exception("write %s: unexpected error", write.pk)
        return _settle_failure(write, _Unexpected(_unexpected_message(exc)))
    finally:
        for settled in registry.SETTLED:
            settled(write)
    _kick_next(write)
    return "confirmed"


def _settle_failure(write: SparkWrite, exc: Exception) -> str:
    now = timezone.now()
    spark = exc if isinstance(exc, SparkError) else None
    message = spark.agent_message if spark else str(exc)
    fields = {
        "claimed_until": None, "updated_at": now, "spark_message": message,
        "spark_status": spark.status if spark else None, "spark_code": spark.code if spark else None,
    }
    if getattr(exc, "waiting_turn", False):
        # Not a failure: an earlier change to the same thing goes first. Not counted as an attempt.
        SparkWrite.objects.filter(pk=write.pk).update(
            status=SparkWrite.Status.QUEUED, next_attempt_at=None, claimed_until=None, attempts=F("attempts") - 1,
            updated_at=now,
        )
        from .tasks import deliver_write

        deliver_write.apply_async((write.pk,), countdown=1.5)
        return "waiting"
    if isinstance(exc, SparkAuthError):
        # The agent's link is broken (revoked, expired refresh): the write waits, it is not lost. Linking again
        # sends it; the banner asks the agent to reconnect.
        # Not counted as an attempt: the write waits for the agent to link again (the banner says so), it does
        # not spin. One commit: whoever sees the link broken also sees the write waiting, not still sending.
        with transaction.atomic():
            SparkWrite.objects.filter(pk=write.pk).update(
                status=SparkWrite.Status.QUEUED, next_attempt_at=now + dt.timedelta(minutes=10),
                attempts=F("attempts") - 1, **fields
            )
            spark_account_mark_broken(account=write.account, message=message)
        return "waiting-for-link"
    rate_limited = isinstance(exc, SparkRateLimited)
    if spark is not None and spark.retryable and not rate_limited and write.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        message = (f"Gave up after {write.attempts} attempts, each of which failed. The last one: {message} "
                   "Retry it, or discard it.")
        fields["spark_message"] = message
    elif spark is not None and spark.retryable:
        delay = max(backoff_delay(write.attempts), spark.retry_after or 0)
        if rate_limited:
            # Spark asked us to slow down; it did not fail the write. Not counted towards OUTBOX_MAX_ATTEMPTS.
            fields["attempts"] = F("attempts") - 1
        SparkWrite.objects.filter(pk=write.pk).update(
            status=SparkWrite.Status.QUEUED, next_attempt_at=now + dt.timedelta(seconds=delay), **fields
        )
        from .tasks import deliver_write

        deliver_write.apply_async((write.pk,), countdown=delay)
        log.info("write %s will be retried in %.1fs (%s)", write.pk, delay, type(exc).__name__)
        return "retry"
    with transaction.atomic():
        # One commit: whoever sees the write failed (the agent's page, a test) also sees the contact flagged.
        SparkWrite.objects.filter(pk=write.pk).update(status=SparkWrite.Status.FAILED, **fields)
        on_failed = registry.ON_FAILED.get(write.kind)
        if on_failed is not None:
            on_failed(write)
        for settled in registry.SETTLED:
            settled(write)
        _audit(write, AuditEvent.Outcome.FAILED, message)
    log.info("write %s failed permanently: %s", write.pk, type(exc).__name__)
    return "failed"


def _kick_next(write: SparkWrite) -> None:
    if not write.contact_id:
        return
    nxt = (
        SparkWrite.objects.filter(contact_id=write.contact_id, status=SparkWrite.Status.QUEUED, id__gt=write.id)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now() + dt.timedelta(seconds=2)))
        .order_by("id").values_list("pk", flat=True).first()
    )
    if nxt:
        from .tasks import deliver_write

        deliver_write.delay(nxt)


def outbox_sweep() -> int:
    """Put back writes whose worker died, and dispatch every write that is due; resume bulk jobs whose preparation
    died. Run by beat."""
    now = timezone.now()
    abandoned = list(SparkWrite.objects.filter(status=SparkWrite.Status.IN_FLIGHT, claimed_until__lt=now)
                     .values_list("pk", flat=True))
    SparkWrite.objects.filter(pk__in=abandoned, status=SparkWrite.Status.IN_FLIGHT, claimed_until__lt=now).update(
        status=SparkWrite.Status.QUEUED, next_attempt_at=None, claimed_until=None, updated_at=now
    )
    from .tasks import deliver_write

    # Fresh rows are left to the message queued with them; older due ones lost theirs (or never had one).
    due = list(
        SparkWrite.objects.filter(status=SparkWrite.Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(updated_at__lt=now - dt.timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_S))
        .order_by("id").values_list("pk", flat=True)[:2000]
    )
    due = sorted(set(due) | set(abandoned))
    for write_id in due:
        deliver_write.delay(write_id)
    for sweep in registry.SWEEPS:
        sweep()
    return len(due)


