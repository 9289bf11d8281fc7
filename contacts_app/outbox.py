"""Delivering the outbox to Spark: claim a write, send it, settle it — exactly once, in order per contact.

A write is claimed by a conditional UPDATE (queued → in flight), so a redelivered Celery message or a second
worker does nothing. A retryable failure puts it back in the queue with backoff; a permanent one marks it
failed with Spark's message for the agent to retry or discard. A claim that outlives its worker (SIGKILL)
expires and the sweep puts the write back; every handler is safe to run again after an unknown outcome.
No write is retried forever: after settings.OUTBOX_MAX_ATTEMPTS failed attempts (Spark's errors or our own, such
as an IntegrityError) it is marked failed with the reason, for the agent to retry or discard.

Lock order — every transaction that locks rows takes them in this order, and only the levels it needs:

    1. the agent's SparkAccount row                       account_lock()
       (then that agent's rows in other apps' tables, e.g. a news feed's schedule)
    2. that agent's Contact rows, in ascending pk          contact_lock() / contacts_lock()
    3. SparkWrite and BulkJob rows                         write_contact_lock() first; claims, retry, discard, undo

Never lock a row of an earlier level after one of a later level in the same transaction. Rows are locked
FOR NO KEY UPDATE (select_for_update(no_key=True)), never plain FOR UPDATE: every INSERT of a row with a foreign
key takes FOR KEY SHARE on the row it points to (a SparkWrite or AuditEvent on its account and its contact), and
FOR UPDATE conflicts with that. With FOR UPDATE on the account, each write_record() was a hidden account lock taken
after the contact locks — the deadlock between a bulk job's preparation (contacts, then the account through the
foreign key) and a news feed schedule change (the account, then the feed's contact). An UPDATE of a contact's
ordinary columns takes FOR NO KEY UPDATE itself, so it counts as a level-2 lock.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.spark import SparkClient, SparkError
from crm.spark.errors import SparkAuthError, SparkConflict, SparkNotFound, SparkRateLimited
from crm.spark.ratelimit import RateLimitTimeout
from crm.spark.records import ContactRecord, parse_timestamp

from .models import AuditEvent, Contact, SparkAccount, SparkWrite, build_search_text
from .spark import client_for_account

log = logging.getLogger(__name__)

# Spark's timestamps are whole seconds and its clock is not ours: a contact created up to this long before our
# first attempt may still be the one that attempt created.
CREATE_CLOCK_SLACK = dt.timedelta(seconds=5)


# -- locks, in the order above ----------------------------------------------------------------------------


def account_lock(account_id: int) -> None:
    """Level 1: one change at a time to what is kept per agent (e.g. "only one default schedule")."""
    list(SparkAccount.objects.select_for_update(no_key=True).filter(pk=account_id).values_list("pk", flat=True))


def contact_lock(*, account: SparkAccount, pk: int) -> Contact:
    """Level 2, one contact (the agent's own: another agent's contact is not found)."""
    return Contact.objects.select_for_update(no_key=True, of=("self",)).get(pk=pk, owner=account)


def write_contact_lock(write: SparkWrite) -> None:
    """Level 2 before a change to the write itself (level 3): retry, discard and undo change both."""
    if write.contact_id:
        list(Contact.objects.select_for_update(no_key=True).filter(pk=write.contact_id).values_list("pk", flat=True))


def contacts_lock(*, account: SparkAccount, ids: list[int]) -> list[Contact]:
    """Level 2, many contacts: all locked by one statement, in ascending pk."""
    return list(Contact.objects.select_for_update(no_key=True, of=("self",)).filter(owner=account, pk__in=ids)
                .order_by("pk"))


def _claim_ttl() -> dt.timedelta:
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
            claimed_until=timezone.now() + _claim_ttl()
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


def contact_write_state_refresh(contact_id: int | None) -> None:
    if not contact_id:
        return
    statuses = set(
        SparkWrite.objects.filter(contact_id=contact_id, status__in=[*SparkWrite.OPEN, SparkWrite.Status.FAILED])
        .values_list("status", flat=True)
    )
    state = (
        Contact.WriteState.FAILED if SparkWrite.Status.FAILED in statuses
        else Contact.WriteState.PENDING if statuses else Contact.WriteState.SYNCED
    )
    Contact.objects.filter(pk=contact_id).exclude(write_state=state).update(write_state=state, updated_at=timezone.now())


def _has_other_open_writes(write: SparkWrite) -> bool:
    return SparkWrite.objects.filter(contact_id=write.contact_id, status__in=SparkWrite.OPEN).exclude(pk=write.pk).exists()


def store_contact_from_spark(contact: Contact, record: ContactRecord) -> None:
    """Take Spark's copy of a contact into the store row."""
    contact.spark_id = record.id
    contact.display_name = record.display_name[:75]
    contact.primary_email = record.primary_email[:75]
    contact.primary_phone = record.primary_phone[:300]
    contact.tags = record.tags
    contact.record_status = record.record_status if record.record_status in Contact.RecordStatus.values else "Connected"
    if record.score is not None:
        contact.score, contact.relative_score = record.score, record.relative_score
    contact.attributes = record.attributes
    contact.spark_modified_at = record.modified_at
    contact.spark_created_at = record.created_at
    contact.synced_at = timezone.now()
    contact.search_text = build_search_text(contact.display_name, contact.primary_email, contact.primary_phone)
    contact.save()


def _fetch_contact(client: SparkClient, spark_id: str) -> ContactRecord:
    resp = client.request("GET", f"/contacts/{spark_id}", params={"_expand": "Activity"})
    return ContactRecord.from_api(resp.results[0])


# -- handlers: one per kind; each may run again after an unknown outcome ----------------------------------


def sparkql_string(value: str) -> str:
    """A SparkQL character literal: single quotes, with backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _find_landed_create(client: SparkClient, write: SparkWrite, attrs: dict) -> str | None:
    """After a create whose outcome is unknown, look for it before posting again (Spark has no idempotency keys).

    Only a contact Spark created after this write was first sent counts (less a little clock slack), and only one
    that no other row of the store holds: an older contact with the same name (a create without an e-mail is
    looked up by name) or the same e-mail is never taken for ours — adopting it would give two rows one Spark id.
    """
    email, name = attrs.get("PrimaryEmail"), attrs.get("DisplayName", "")
    if email:
        expr = f"PrimaryEmail Eq {sparkql_string(email)}"
    else:
        expr = f"DisplayName Eq {sparkql_string(name)}"
    since = (write.first_attempt_at or write.created_at) - CREATE_CLOCK_SLACK
    resp = client.request("GET", "/contacts", params={"_filter": expr, "_limit": 25})
    candidates = []
    for item in resp.results:
        if item.get("DisplayName") != name or (email and item.get("PrimaryEmail") != email):
            continue
        created = parse_timestamp(item.get("CreatedTimestamp")) or parse_timestamp(item.get("ModificationTimestamp"))
        if created is None or created < since:
            continue
        candidates.append((created, str(item["Id"])))
    for _created, spark_id in sorted(candidates):
        if _spark_id_free_for(write, spark_id):
            return spark_id
    return None


def _sent_before(write: SparkWrite) -> bool:
    """Whether an earlier attempt may have reached Spark. The claim sets first_attempt_at only on the first one
    (to its own `now`, as updated_at), and the agent's Retry restarts `attempts` but keeps first_attempt_at."""
    return write.attempts > 1 or (write.first_attempt_at is not None and write.first_attempt_at < write.updated_at)


def _spark_id_free_for(write: SparkWrite, spark_id: str) -> bool:
    """True when no other row of the store holds `spark_id`. A row the sync brought in after our first attempt,
    that nobody has changed here since, is the sync's copy of our own landed create: it gives way to ours."""
    others = Contact.objects.filter(spark_id=spark_id).exclude(pk=write.contact_id)
    if not others.exists():
        return True
    since = write.first_attempt_at or write.created_at
    sync_copy = others.filter(owner_id=write.account_id, created_at__gte=since, writes__isnull=True)
    with transaction.atomic():
        sync_copy.delete()
        return not others.exists()


def _deliver_create(client: SparkClient, write: SparkWrite) -> None:
    attrs = write.payload["attributes"]
    contact = write.contact
    spark_id = contact.spark_id if contact is not None and contact.spark_id else None
    if spark_id is None and _sent_before(write):
        spark_id = _find_landed_create(client, write, attrs)
    if spark_id is None:
        try:
            resp = client.request("POST", "/contacts", data=attrs)
        except SparkConflict:
            # A duplicate of... our own earlier attempt? Adopt it only if it is one (see _find_landed_create).
            spark_id = _find_landed_create(client, write, attrs)
            if spark_id is None:
                raise
        else:
            first = resp.results[0] if resp.results else {}
            spark_id = str(first.get("Id") or str(first.get("ResourceUri", "")).rstrip("/").rsplit("/", 1)[-1])
    if contact is not None:
        contact.spark_id = spark_id
        contact.save(update_fields=["spark_id", "updated_at"])  # kept even if what follows fails
        if not _has_other_open_writes(write):
            store_contact_from_spark(contact, _fetch_contact(client, spark_id))


def _require_spark_id(write: SparkWrite) -> str:
    contact = write.contact
    if contact is None or not contact.spark_id:
        raise _Permanent("The contact no longer exists here, or was never created in Spark.")
    return contact.spark_id


def _deliver_update(client: SparkClient, write: SparkWrite) -> None:
    spark_id = _require_spark_id(write)
    client.request("PUT", f"/contacts/{spark_id}", data=write.payload["changes"])
    if not _has_other_open_writes(write):
        store_contact_from_spark(write.contact, _fetch_contact(client, spark_id))


def _deliver_tags(client: SparkClient, write: SparkWrite) -> None:
    """Tags are a list on the contact: read Spark's list, apply the delta, put the whole list back."""
    spark_id = _require_spark_id(write)
    current = _fetch_contact(client, spark_id)
    tag = write.payload["tag"]
    if write.kind == SparkWrite.Kind.TAG_ADD:
        wanted = current.tags if tag in current.tags else [*current.tags, tag]
    else:
        wanted = [t for t in current.tags if t != tag]
    if wanted != current.tags:
        client.request("PUT", f"/contacts/{spark_id}", data={"Tags": wanted})
    current.tags = wanted
    if not _has_other_open_writes(write):
        store_contact_from_spark(write.contact, current)


def _deliver_connect(client: SparkClient, write: SparkWrite) -> None:
    spark_id = _require_spark_id(write)
    client.request("PUT", f"/contacts/{spark_id}", data={"RecordStatus": "Connected"})
    Contact.objects.filter(pk=write.contact_id).update(record_status=Contact.RecordStatus.CONNECTED)


def _deliver_delete(client: SparkClient, write: SparkWrite) -> None:
    spark_id = _require_spark_id(write)
    try:
        client.request("DELETE", f"/contacts/{spark_id}")
    except SparkNotFound:
        if write.attempts <= 1:
            raise
        # An earlier attempt landed before its answer was lost.
    Contact.objects.filter(pk=write.contact_id).delete()


def _deliver_transfer(client: SparkClient, write: SparkWrite) -> None:
    spark_id = _require_spark_id(write)
    try:
        client.request("PUT", f"/contacts/{spark_id}", data={"OwnerId": write.payload["owner_id"]})
    except SparkNotFound:
        if write.attempts <= 1:
            raise
    # The contact now belongs to the other agent; their sync brings it to them.
    Contact.objects.filter(pk=write.contact_id).delete()


HANDLERS: dict[str, Callable[[SparkClient, SparkWrite], None]] = {
    SparkWrite.Kind.CREATE: _deliver_create,
    SparkWrite.Kind.UPDATE: _deliver_update,
    SparkWrite.Kind.TAG_ADD: _deliver_tags,
    SparkWrite.Kind.TAG_REMOVE: _deliver_tags,
    SparkWrite.Kind.CONNECT: _deliver_connect,
    SparkWrite.Kind.DELETE: _deliver_delete,
    SparkWrite.Kind.TRANSFER: _deliver_transfer,
}


def register_handler(kind: str, handler: Callable[[SparkClient, SparkWrite], None]) -> None:
    """Other apps (news feed schedules, shared links) deliver their own kinds of write through this outbox.
    A handler must be safe to run again after an unknown outcome."""
    HANDLERS[kind] = handler


class Permanent(Exception):
    """A write that cannot go out for a reason of our own (not Spark's); the agent sees the message."""


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
        .update(status=SparkWrite.Status.IN_FLIGHT, claimed_until=now + _claim_ttl(),
                attempts=F("attempts") + 1, first_attempt_at=Coalesce(F("first_attempt_at"), now), updated_at=now)
    )
    if not claimed:
        return None
    return SparkWrite.objects.select_related("account", "contact").get(pk=write_id)


def _audit(write: SparkWrite, outcome: str, message: str = "") -> None:
    AuditEvent.objects.create(
        actor=None, actor_name="Spark outbox", source=SparkWrite.Source.SYSTEM, account=write.account,
        contact_id=write.contact_id if Contact.objects.filter(pk=write.contact_id).exists() else None,
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
        HANDLERS[write.kind](client, write)
        with transaction.atomic():
            SparkWrite.objects.filter(pk=write.pk).update(
                status=SparkWrite.Status.CONFIRMED, confirmed_at=timezone.now(), claimed_until=None,
                spark_status=None, spark_code=None, spark_message="", updated_at=timezone.now(),
            )
            _audit(write, AuditEvent.Outcome.CONFIRMED)
            # In the same commit: a page read between the two must never show a confirmed write on a contact
            # still marked pending.
            contact_write_state_refresh(write.contact_id)
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
        contact_write_state_refresh(write.contact_id)
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
        from .linking import spark_account_mark_broken

        spark_account_mark_broken(account=write.account, message=message)
        # Not counted as an attempt: the write waits for the agent to link again (the banner says so), it does
        # not spin.
        SparkWrite.objects.filter(pk=write.pk).update(
            status=SparkWrite.Status.QUEUED, next_attempt_at=now + dt.timedelta(minutes=10),
            attempts=F("attempts") - 1, **fields
        )
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
        if write.kind == SparkWrite.Kind.DELETE and write.contact_id:
            Contact.objects.filter(pk=write.contact_id).update(pending_delete=False)
        contact_write_state_refresh(write.contact_id)
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
    from .bulk import bulk_jobs_sweep

    bulk_jobs_sweep()
    return len(due)


