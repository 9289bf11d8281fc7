"""What every app's sync shares: one sync per agent and resource at a time (a claimed SyncState row), and
storing records one by one when the database refuses a batch (the refused ones are skipped and reported)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import DataError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from crm.spark.records import clean_text

from .models import SparkAccount, SyncState

log = logging.getLogger(__name__)

CLAIM_TTL = dt.timedelta(minutes=15)
WORKER_STOPPED = "worker stopped mid-sync"
# What the database says when it refuses one record's values (too long, out of range, not encodable, a constraint):
# that record is skipped and reported, the sync goes on. Anything else (the database gone) stops the sync.
STORE_ERRORS = (DataError, IntegrityError, ValueError)
SKIPPED_DETAIL_MAX = 50


R = TypeVar("R")




def sync_states_reap_stale(*, state_id: int | None = None) -> int:
    """Mark failed the syncs left "running" by a worker that stopped (killed, lost its database, crashed before it
    could record its end): their claim ran out, or was released without an end. The next sync runs them again."""
    now = timezone.now()
    stale = SyncState.objects.filter(status=SyncState.Status.RUNNING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    if state_id is not None:
        stale = stale.filter(pk=state_id)
    reaped = stale.update(status=SyncState.Status.FAILED, last_error=WORKER_STOPPED, last_failed_at=now,
                          claimed_until=None, claim_token="", updated_at=now)
    if reaped:
        log.warning("%d sync(s) left running by a stopped worker marked failed", reaped)
    return reaped


def sync_state_claim(*, account: SparkAccount, resource: str) -> tuple[SyncState, str] | None:
    """Claim the agent's sync with one conditional UPDATE, so two workers never sync the same agent at once."""
    state, _ = SyncState.objects.get_or_create(account=account, resource=resource)
    sync_states_reap_stale(state_id=state.pk)
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = SyncState.objects.filter(pk=state.pk).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    ).update(claimed_until=now + CLAIM_TTL, claim_token=token, status=SyncState.Status.RUNNING,
             progress_done=0, progress_total=0, updated_at=now)
    if not claimed:
        return None
    state.refresh_from_db()
    return state, token


def sync_state_release(*, state: SyncState, token: str, reason: str = WORKER_STOPPED) -> None:
    """End the claim. A sync that did not record its own end (it raised) is marked failed with `reason`, so no
    row stays "running"; if even this cannot be written, the claim runs out and the next sync reaps it."""
    try:
        mine = SyncState.objects.filter(pk=state.pk, claim_token=token)
        mine.filter(status=SyncState.Status.RUNNING).update(
            status=SyncState.Status.FAILED, last_error=clean_text(reason)[:2000], last_failed_at=timezone.now())
        mine.update(claimed_until=None, claim_token="")
    except Exception:
        log.exception("could not release the %s sync claim of account %s", state.resource, state.account_id)


def store_error_reason(exc: BaseException) -> str:
    """The database's own one-line reason (no values of the record in it)."""
    lines = str(exc).strip().splitlines()
    return clean_text(f"{type(exc).__name__}: {lines[0] if lines else ''}")[:300]


def store_or_skip(store: Callable[[], R], *, record_id: str, skipped: list[tuple[str, str]], what: str) -> R | None:
    """`store()` in a savepoint; when the database refuses the record it is noted in `skipped` and logged, and the
    sync goes on with the next one."""
    try:
        with transaction.atomic():
            return store()
    except STORE_ERRORS as exc:
        reason = store_error_reason(exc)
        skipped.append((record_id, reason))
        log.warning("%s %s skipped: the store refused it (%s)", what, record_id, reason)
        return None


def store_batch_or_each(store: Callable[[Sequence[Any]], Any], records: Sequence[Any], *, id_of: Callable[[Any], str],
                        skipped: list[tuple[str, str]], what: str) -> None:
    """The whole batch in one savepoint; if the database refuses it, each record in its own, skipping the bad."""
    try:
        with transaction.atomic():
            store(records)
        return
    except STORE_ERRORS:
        pass  # one of them is refused; find which
    for record in records:
        store_or_skip(lambda r=record: store([r]), record_id=id_of(record), skipped=skipped, what=what)


def skipped_fields(skipped: list[tuple[str, str]]) -> dict[str, Any]:
    """SyncState fields that report the records skipped by a sync (shown in the admin)."""
    lines = [f"{record_id}: {reason}" for record_id, reason in skipped[:SKIPPED_DETAIL_MAX]]
    if len(skipped) > SKIPPED_DETAIL_MAX:
        lines.append(f"… and {len(skipped) - SKIPPED_DETAIL_MAX} more")
    return {"skipped": len(skipped), "skipped_detail": "\n".join(lines)}
