"""Identifiers and timestamps in Spark's wire formats.

Ids are 26-digit strings (14-digit timestamp + 6 fractional digits + 6-digit suffix) derived from a fixed epoch and
a counter, so the same seed always yields byte-identical data. Timestamps are ISO 8601 with seconds precision and
the MLS's local offset (flexmls runs on US Central time; we use a fixed UTC-05:00).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone

MLS_TZ = timezone(timedelta(hours=-5))
# "Now" for seeded data: every seeded timestamp lies before this instant, which lies before any real start time.
SEED_BASE = datetime(2025, 1, 1, 9, 0, 0, tzinfo=MLS_TZ)

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class IdFactory:
    """Monotonic 26-digit ids: one factory per kind of resource, each with its own epoch."""

    def __init__(self, epoch: datetime, step_ms: int = 1, suffix: int = 0) -> None:
        self._epoch = epoch
        self._step = step_ms
        self._suffix = suffix
        self._counter = itertools.count()

    def next(self) -> str:
        n = next(self._counter)
        t = self._epoch + timedelta(milliseconds=n * self._step)
        return f"{t:%Y%m%d%H%M%S}{t.microsecond:06d}{self._suffix:06d}"


def short_id(n: int, salt: int = 0) -> str:
    """A short alphanumeric code (shared links look like `YUNO`, `15Ar`): a bijective scramble of a counter."""
    x = (n * 2654435761 + salt * 97 + 238328) % 56800235584  # 62**6
    out = ""
    while True:
        x, r = divmod(x, 62)
        out = BASE62[r] + out
        if x == 0:
            break
    return out.rjust(4, "0")


def fmt_ts(epoch_s: int | float) -> str:
    """Unix seconds -> `2013-06-27T10:01:06-05:00`."""
    return datetime.fromtimestamp(int(epoch_s), MLS_TZ).isoformat(timespec="seconds")


def fmt_ts_utc(epoch_s: int | float) -> str:
    """Unix seconds -> `2010-11-22T20:47:21Z`."""
    return datetime.fromtimestamp(int(epoch_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_date(d: date) -> str:
    return d.isoformat()


def seed_ts(days_before: float) -> int:
    """Unix seconds `days_before` days before the fixed seed base."""
    return int((SEED_BASE - timedelta(days=days_before)).timestamp())


def today_mls() -> date:
    return datetime.now(MLS_TZ).date()
