"""News feed schedules as values: what a choice means, how it reads, when it delivers, and whether Spark takes it.

Pure functions only (no database, no Spark), following the News Feed: Schedule page:
- Frequency is "Instant" or "Scheduled". An Instant schedule takes no hours or days (Spark refuses them).
- HoursOfDay 0-23; none chosen means the MLS's default hour.
- DaysOfWeek Sunday-Saturday; none chosen means every day, unless DaysOfMonth is set.
- DaysOfMonth 1-31; none chosen means every day, unless DaysOfWeek is set.
- When both day lists are set we read them as cron does: a day matches either list. That is the only reading in
  which the page's "unless the other is set" clauses are needed (under "both must match" an empty list could simply
  mean "any"), and it never leaves a schedule that cannot deliver.
- A schedule with a WebhookId must stay Instant.
Hours are read in the agent's time zone (settings.TIME_ZONE): the page shows delivery times there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

INSTANT = "Instant"
SCHEDULED = "Scheduled"
FREQUENCIES = (INSTANT, SCHEDULED)
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
WEEKDAYS = frozenset(DAYS[1:6])
WEEKEND = frozenset({"Saturday", "Sunday"})
HOURS = tuple(range(24))
MONTH_DAYS = tuple(range(1, 32))

INSTANT_SENTENCE = "Instantly — new listings after about 10 minutes, expired and closed listings bundled hourly"
INSTANT_DETAIL = (
    "Spark holds new listings for roughly 10 minutes so the listing agent can correct them; expired listings, and "
    "closed ones when the MLS closes listings overnight, are bundled and sent roughly an hour after the first; the "
    "first recommended listing goes at once and later ones within the hour are bundled."
)
# Longest gap between two deliveries of a valid choice is 62 days (the 31st only: Aug 31 -> Oct 31); look further.
HORIZON_DAYS = 400


class ScheduleProblem(ValueError):
    """A choice Spark would refuse or that would never deliver; the message is for the agent."""


@dataclass(frozen=True)
class ScheduleChoice:
    frequency: str
    hours: tuple[int, ...] | None = None
    days_of_week: tuple[str, ...] | None = None
    days_of_month: tuple[int, ...] | None = None

    @classmethod
    def build(cls, frequency: str, hours: Iterable[Any] | None = None, days_of_week: Iterable[str] | None = None,
              days_of_month: Iterable[Any] | None = None) -> ScheduleChoice:
        """Normalized: sorted, without repeats, an empty list as None (Spark gives None its meaning)."""
        h = tuple(sorted({int(x) for x in hours})) if hours else None
        dow = tuple(sorted({_day_name(d) for d in days_of_week}, key=DAYS.index)) if days_of_week else None
        dom = tuple(sorted({int(x) for x in days_of_month})) if days_of_month else None
        return cls(frequency=frequency, hours=h or None, days_of_week=dow or None, days_of_month=dom or None)

    @classmethod
    def from_spark(cls, record: Any) -> ScheduleChoice:
        """From a ScheduleRecord (or anything with frequency/hours_of_day/days_of_week/days_of_month)."""
        hours = getattr(record, "hours_of_day", None)
        dow = getattr(record, "days_of_week", None)
        dom = getattr(record, "days_of_month", None)
        freq = record.frequency or (SCHEDULED if (hours or dow or dom) else INSTANT)
        try:
            return cls.build(freq, hours, dow, dom)
        except ValueError:
            return cls(frequency=freq)

    @property
    def is_instant(self) -> bool:
        return self.frequency == INSTANT

    @property
    def has_timing(self) -> bool:
        return any(v is not None for v in (self.hours, self.days_of_week, self.days_of_month))

    def as_spark_body(self) -> dict[str, Any]:
        """The body for POST or PUT. A Scheduled body names every timing list (null for "not chosen"), so a PUT
        also clears a list the agent emptied; an Instant body is the Frequency alone."""
        if self.is_instant:
            return {"Frequency": INSTANT}
        return {
            "Frequency": SCHEDULED,
            "HoursOfDay": list(self.hours) if self.hours else None,
            "DaysOfWeek": list(self.days_of_week) if self.days_of_week else None,
            "DaysOfMonth": list(self.days_of_month) if self.days_of_month else None,
        }

    def as_dict(self) -> dict[str, Any]:
        return {"Frequency": self.frequency, "HoursOfDay": list(self.hours or []) or None,
                "DaysOfWeek": list(self.days_of_week or []) or None,
                "DaysOfMonth": list(self.days_of_month or []) or None}


def _day_name(value: str) -> str:
    match = next((d for d in DAYS if d.lower() == str(value).strip().lower()), None)
    if match is None:
        raise ScheduleProblem(f"“{value}” is not a day of the week (Sunday to Saturday).")
    return match


def problems(choice: ScheduleChoice, *, webhook_id: str | None = None) -> list[str]:
    """Why Spark would refuse the choice, or why it would never deliver; empty when it is fine."""
    out: list[str] = []
    if choice.frequency not in FREQUENCIES:
        out.append("Choose Instant or Scheduled.")
        return out
    if choice.is_instant and choice.has_timing:
        out.append("An Instant schedule takes no hours or days — Spark refuses them. Clear the hours and days, "
                   "or choose Scheduled.")
    if choice.hours and any(not 0 <= h <= 23 for h in choice.hours):
        out.append("Hours of the day are 0 to 23.")
    if choice.days_of_month and any(not 1 <= d <= 31 for d in choice.days_of_month):
        out.append("Days of the month are 1 to 31.")
    if choice.days_of_week and any(d not in DAYS for d in choice.days_of_week):
        out.append("Days of the week are Sunday to Saturday.")
    if webhook_id and not choice.is_instant:
        out.append("This schedule sends its notifications to a webhook, and Spark keeps webhook schedules Instant. "
                   "Remove the schedule first to set a Scheduled one.")
    if not out and not choice.is_instant and not next_deliveries(
            choice, after=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), tz=ZoneInfo("UTC"), count=1):
        out.append("This choice would never deliver.")
    return out


# ---- reading a schedule as a sentence -------------------------------------------------------------------------------

def hour_label(hour: int) -> str:
    if hour == 0:
        return "midnight"
    if hour == 12:
        return "noon"
    return f"{hour} am" if hour < 12 else f"{hour - 12} pm"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def join_words(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _days_phrase(choice: ScheduleChoice) -> str:
    dow = set(choice.days_of_week or ())
    dom = set(choice.days_of_month or ())
    if (not dow and not dom) or len(dow) == 7 or len(dom) == 31:
        return "Every day"
    week = ""
    if dow == WEEKDAYS:
        week = "Weekdays"
    elif dow == WEEKEND:
        week = "Weekends"
    elif dow:
        week = join_words([d + "s" for d in DAYS[1:] + DAYS[:1] if d in dow])
    month = f"the {join_words([ordinal(d) for d in sorted(dom)])} of each month" if dom else ""
    if week and month:
        return f"{week}, and on {month},"
    return week or f"On {month}"


def _hours_phrase(choice: ScheduleChoice) -> str:
    if not choice.hours:
        return "at the MLS's default hour"
    if len(choice.hours) == 24:
        return "every hour"
    return "at " + join_words([hour_label(h) for h in choice.hours])


def describe(choice: ScheduleChoice | None) -> str:
    """"Weekdays at 8 am and 5 pm"; the Instant sentence; "No schedule" for None."""
    if choice is None:
        return "No schedule"
    if choice.is_instant:
        return INSTANT_SENTENCE
    return f"{_days_phrase(choice)} {_hours_phrase(choice)}"


# ---- when it delivers ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    """One delivery: `at` is exact when the hour is chosen; otherwise only its day is known (MLS default hour)."""

    at: dt.datetime
    exact: bool


def day_matches(choice: ScheduleChoice, day: dt.date) -> bool:
    dow, dom = choice.days_of_week, choice.days_of_month
    if dow is None and dom is None:
        return True
    name = DAYS[(day.weekday() + 1) % 7]
    return (dow is not None and name in dow) or (dom is not None and day.day in dom)


def next_deliveries(choice: ScheduleChoice, *, after: dt.datetime, tz: dt.tzinfo, count: int = 5) -> list[Delivery]:
    """The next `count` deliveries strictly after `after`, in `tz`. Instant schedules have none to list.

    A local hour that a daylight-saving change skips is delivered at the wall-clock time it becomes; two chosen
    hours that land on the same instant count once."""
    if choice.is_instant or count <= 0:
        return []
    local_after = after.astimezone(tz)
    out: list[Delivery] = []
    day = local_after.date()
    for _ in range(HORIZON_DAYS):
        if day_matches(choice, day):
            if choice.hours:
                for hour in choice.hours:
                    wall = dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz)
                    at = wall.astimezone(dt.UTC).astimezone(tz)  # normalizes a skipped hour
                    if at > local_after and (not out or at > out[-1].at):
                        out.append(Delivery(at=at, exact=True))
                        if len(out) == count:
                            return out
            else:
                start = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
                if day > local_after.date():
                    out.append(Delivery(at=start, exact=False))
                    if len(out) == count:
                        return out
        day += dt.timedelta(days=1)
    return out
