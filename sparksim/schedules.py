"""News feed notification schedules: the rules of the News Feed: Schedule page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .envelope import ApiError, constraint
from .ids import fmt_ts
from .model import Schedule
from .state import State

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
TIMING = ("HoursOfDay", "DaysOfWeek", "DaysOfMonth")
WRITEABLE = {"Frequency", *TIMING, "WebhookId"}
READ_ONLY = {"Id", "ResourceUri", "NewsfeedId", "CreatedTimestamp"}
DEVELOPER = "crm-demo"  # every demo key and the demo OAuth client belong to this developer


def resource_uri(s: Schedule) -> str:
    if s.newsfeed_id:
        return f"/v1/newsfeeds/{s.newsfeed_id}/schedule/{s.id}"
    kind, ident = s.subject
    if kind == "contact":
        return f"/v1/contacts/{ident}/newsfeeds/schedule/{s.id}"
    return f"/v1/newsfeeds/schedule/{s.id}"


def serialize(s: Schedule) -> dict[str, Any]:
    return {"Id": s.id, "ResourceUri": resource_uri(s), "NewsfeedId": s.newsfeed_id, "Frequency": s.frequency,
            "HoursOfDay": s.hours, "DaysOfWeek": s.days_of_week, "DaysOfMonth": s.days_of_month,
            "WebhookId": s.webhook_id, "CreatedTimestamp": fmt_ts(s.created)}


def _int_list(name: str, value: Any, lo: int, hi: int) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise constraint(f"{name} must be a list of integers", name, "Type", value)
    bad = [v for v in value if not lo <= v <= hi]
    if bad:
        raise constraint(f"{name} values must be between {lo} and {hi}", name, "Range", bad[0])
    return sorted(set(value)) or None


def _days(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise constraint("DaysOfWeek must be a list of day names", "DaysOfWeek", "Type", value)
    out = []
    for v in value:
        match = next((d for d in DAYS if d.lower() == v.strip().lower()), None)
        if match is None:
            raise constraint(f"DaysOfWeek: {v!r} is not a day name (Sunday-Saturday)", "DaysOfWeek", "DayName", v)
        if match not in out:
            out.append(match)
    return sorted(out, key=DAYS.index) or None


def _check_keys(d: Mapping[str, Any]) -> None:
    for k in d:
        if k in READ_ONLY:
            raise constraint(f"{k} is read-only", k, "ReadOnly", d[k])
        if k not in WRITEABLE:
            raise constraint(f"{k} is not a schedule attribute", k, "UnknownAttribute", d[k])


def _webhook_owned(state: State, webhook_id: Any) -> bool:
    hook = state.webhooks.get(webhook_id) if isinstance(webhook_id, str) else None
    return hook is not None and hook.developer == DEVELOPER


def _resolve(d: Mapping[str, Any], current: Schedule | None) -> dict[str, Any]:
    hours = _int_list("HoursOfDay", d["HoursOfDay"], 0, 23) if "HoursOfDay" in d else (
        current.hours if current else None)
    dow = _days(d["DaysOfWeek"]) if "DaysOfWeek" in d else (current.days_of_week if current else None)
    dom = _int_list("DaysOfMonth", d["DaysOfMonth"], 1, 31) if "DaysOfMonth" in d else (
        current.days_of_month if current else None)
    timing_given = any(d.get(k) is not None for k in TIMING)
    if "Frequency" in d:
        freq = d["Frequency"]
        if freq not in ("Scheduled", "Instant"):
            raise constraint("Frequency must be 'Scheduled' or 'Instant'", "Frequency", "Enumeration", freq)
        if freq == "Instant":
            if timing_given:
                raise constraint("An Instant schedule takes no HoursOfDay, DaysOfWeek or DaysOfMonth", "Frequency",
                                 "InstantHasNoTiming", freq)
            hours = dow = dom = None
    elif timing_given:
        freq = "Scheduled"
    elif current is not None and not any(k in d for k in TIMING):
        freq = current.frequency
    else:
        freq = "Scheduled" if any(v is not None for v in (hours, dow, dom)) else "Instant"
    return {"frequency": freq, "hours": hours, "days_of_week": dow, "days_of_month": dom}


def schedule_create(state: State, d: Mapping[str, Any], subject: tuple[str, str], feed_id: str | None) -> Schedule:
    _check_keys(d)
    resolved = _resolve(d, None)
    webhook = d.get("WebhookId")
    if webhook is not None:
        if not _webhook_owned(state, webhook):
            raise constraint("WebhookId must be a webhook owned by the active developer", "WebhookId",
                             "WebhookOwner", webhook)
        if resolved["frequency"] != "Instant":
            raise constraint("A schedule with a WebhookId must have Frequency Instant", "WebhookId",
                             "WebhookInstant", webhook)
    clash = [s for s in state.schedules.values() if (s.newsfeed_id == feed_id if feed_id else
                                                      (s.newsfeed_id is None and s.subject == subject))]
    if clash:
        what = "this news feed" if feed_id else "this user's default schedule"
        raise ApiError(409, 1055, f"Only one schedule may exist for {what}; update or delete {clash[0].id}")
    s = Schedule(state.new_id("schedule"), subject, feed_id, webhook_id=webhook, created=state.next_timestamp(),
                 **resolved)
    state.schedules[s.id] = s
    return s


def schedule_update(state: State, s: Schedule, d: Mapping[str, Any]) -> None:
    _check_keys(d)
    resolved = _resolve(d, s)
    webhook = s.webhook_id
    if "WebhookId" in d:
        new = d["WebhookId"]
        if s.webhook_id is None and new is not None:
            raise constraint("Webhooks cannot be added to existing schedules", "WebhookId", "WebhookAdd", new)
        if s.webhook_id is not None and new != s.webhook_id:
            if not _webhook_owned(state, s.webhook_id) or (new is not None and not _webhook_owned(state, new)):
                raise constraint("Webhooks can only be changed from, and to, hooks owned by the active developer",
                                 "WebhookId", "WebhookOwner", new)
        webhook = new
    if webhook is not None and resolved["frequency"] != "Instant":
        raise constraint("A schedule with a WebhookId must have Frequency Instant", "Frequency", "WebhookInstant",
                         resolved["frequency"])
    s.webhook_id = webhook
    s.frequency = resolved["frequency"]
    s.hours = resolved["hours"]
    s.days_of_week = resolved["days_of_week"]
    s.days_of_month = resolved["days_of_month"]
