"""A worker's hold on an import while it reads or classifies it: claimed, renewed, given back or refused."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from crm.outbox.worker import claim_ttl

from ..csv_models import CsvImport, CsvUpload

log = logging.getLogger(__name__)


READ_MAX_ATTEMPTS = 3


def _inline_rows() -> int:
    return settings.CSV_IMPORT_INLINE_ROWS


def _queue(import_id: int, state: str) -> None:
    from ..tasks import classify_csv_import, read_csv_import

    (read_csv_import if state == CsvImport.State.READING else classify_csv_import).delay(import_id)


def _claim_ttl():
    return claim_ttl()


def _claim(import_id: int, state: str) -> CsvImport | None:
    """Hold the import for this worker (one conditional UPDATE), or None: another holds it, or it moved on."""
    now = timezone.now()
    taken = (CsvImport.objects.filter(pk=import_id, state=state)
             .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
             .update(claimed_until=now + _claim_ttl(), attempts=F("attempts") + 1, updated_at=now))
    return CsvImport.objects.select_related("account").get(pk=import_id) if taken else None


class _ClaimLost(Exception):
    """Another worker took the import over (this one was thought dead): this one stops."""


def _renew(imp: CsvImport, **fields) -> None:
    """Keep holding the import (and say how far it got); _ClaimLost if another worker took it over meanwhile."""
    now = timezone.now()
    until = now + _claim_ttl()
    if not CsvImport.objects.filter(pk=imp.pk, state=imp.state, claimed_until=imp.claimed_until).update(
            claimed_until=until, updated_at=now, **fields):
        raise _ClaimLost
    imp.claimed_until = until


def _refuse(imp: CsvImport, problem: str) -> None:
    CsvImport.objects.filter(pk=imp.pk).update(state=CsvImport.State.REFUSED, problem=problem[:2000],
                                               claimed_until=None, updated_at=timezone.now())
    CsvUpload.objects.filter(csv_import=imp).delete()
