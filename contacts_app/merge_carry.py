"""Carrying the merged-away contact's news feeds and schedules over to the contact kept.

flexmls deletes a contact's news feeds and their schedules with the contact, so a merge would silently stop the
listing alerts the person asked for. Before the merge's DELETE, with the agent's client (as offboarding does for a
transfer, `offboarding.py`):

- each of the other's feeds on a saved search: if the survivor already follows that search, its feed stays and the
  other's own schedule is recreated on it — unless the survivor's feed has a schedule of its own (the survivor's
  choice wins); else a feed on the same search is created for the survivor (same name, notifications as they were)
  and the other's own schedule recreated on it;
- a feed turned off, or not on a saved search (curated), is not recreated: listed with why;
- the other's default schedule (the contact's, governing its feeds without their own) is recreated for the survivor
  when the survivor had none.

Every step looks before it creates, so the merge can run again after an unknown outcome; the results are kept on
the write (`payload["carried"]`) before the DELETE, for the merge's page. The preview (`carry_preview`) says the
same from the store, before anything is sent.
"""

from __future__ import annotations

from itertools import islice

from crm.spark import SparkError
from crm.spark.errors import SparkAuthError, SparkNotFound
from crm.spark.records import NewsFeedRecord
from crm.spark.resources import newsfeeds
from crm.spark.resources._common import iter_parsed, seg

from .offboarding import schedule_attrs, schedule_describe, schedule_put_back

MAX_FEEDS = 200  # per contact: a bound on the pages read, whatever Spark's paging says


def _feeds(client, spark_id: str) -> list[NewsFeedRecord]:
    return list(islice(iter_parsed(client, f"/contacts/{seg(spark_id)}/newsfeeds", NewsFeedRecord.from_api),
                       MAX_FEEDS))


def _search_id(feed) -> str:
    sub = getattr(feed, "subscription", None)
    return (sub.id if sub is not None else "") or ""


def _own(client, feed_id: str, spark_id: str) -> dict | None:
    own = newsfeeds.feed_schedule_list(client, feed_id, contact_id=spark_id)
    return schedule_attrs(own[0]) if own else None


def _refused(exc: SparkError) -> None:
    """A refusal is listed; what may pass on a later try (rate limit, 5xx, network, the link) retries the merge."""
    if exc.retryable or isinstance(exc, SparkAuthError):
        raise exc


def carry_over(client, *, survivor_spark_id: str, other_spark_id: str, survivor_name: str) -> list[dict] | None:
    """Do it; returns one row per feed or schedule ({"what", "ok", "message"}), or None when the other is gone from
    flexmls already (nothing left to carry)."""
    try:
        theirs = _feeds(client, other_spark_id)
    except SparkNotFound:
        return None
    if not theirs:
        return []
    their_default = newsfeeds.default_schedule_list(client, contact_id=other_spark_id)
    mine = {_search_id(f): f for f in _feeds(client, survivor_spark_id) if _search_id(f)}
    mine_default = newsfeeds.default_schedule_list(client, contact_id=survivor_spark_id)
    rows = []
    for feed in theirs:
        row = {"what": f"“{feed.name or 'News feed'}” news feed", "ok": False}
        rows.append(row)
        search = _search_id(feed)
        if not search:
            row["message"] = "Not carried over: it follows no saved search, so flexmls cannot recreate it."
            continue
        if not feed.active:
            row["message"] = "Not carried over: it was turned off."
            continue
        try:
            wanted = _own(client, feed.id, other_spark_id)
            if wanted:
                row["what"] += f" ({schedule_describe(wanted)} schedule)"
            target = mine.get(search)
            if target is not None:
                if wanted and _own(client, target.id, survivor_spark_id):
                    row.update(ok=True, message=f"{survivor_name} already follows this search with a schedule of "
                                                "their own, which is kept.")
                    continue
                if wanted:
                    schedule_put_back(client, survivor_spark_id, wanted, feed_id=target.id)
                row.update(ok=True, message=f"{survivor_name} already follows this search (“{target.name}”)"
                                            + ("; the schedule is recreated on it." if wanted else "."))
                continue
            created = newsfeeds.newsfeed_create(
                client, {"Name": feed.name[:75] or "News feed", "Subscription": {"Id": search},
                         "NotificationsActive": feed.notifications_active}, contact_id=survivor_spark_id)
            if created:
                mine[search] = NewsFeedRecord(id=created, name=feed.name, active=True)
                if wanted:
                    schedule_put_back(client, survivor_spark_id, wanted, feed_id=created)
            row.update(ok=True, message=f"Recreated for {survivor_name}" + (" with its schedule." if wanted else "."))
        except SparkError as exc:
            _refused(exc)
            row["message"] = f"Not carried over: {exc.agent_message}"
    if their_default:
        wanted = schedule_attrs(their_default[0])
        row = {"what": f"Default schedule ({schedule_describe(wanted)})", "ok": False}
        rows.append(row)
        if mine_default:
            row.update(ok=True, message=f"{survivor_name} has a default schedule of their own, which is kept.")
        else:
            try:
                schedule_put_back(client, survivor_spark_id, wanted, feed_id=None)
                row.update(ok=True, message=f"Recreated for {survivor_name}.")
            except SparkError as exc:
                _refused(exc)
                row["message"] = f"Not carried over: {exc.agent_message}"
    return rows


def carry_preview(survivor, other) -> list[dict]:
    """What the merge will carry over, from the store (no call to Spark): one row per feed of the other's."""
    mine = {f.subscription_id: f for f in survivor.newsfeeds.all() if f.subscription_id}
    rows = []
    for feed in sorted(other.newsfeeds.all(), key=lambda f: (f.name, f.pk)):
        schedule = getattr(feed, "schedule", None) if hasattr(feed, "schedule") else None
        what = f"“{feed}”" + (f" ({schedule.frequency} schedule)" if schedule is not None else "")
        if not feed.subscription_id:
            rows.append({"what": what, "ok": False, "message": "lost: it follows no saved search"})
        elif not feed.active:
            rows.append({"what": what, "ok": False, "message": "lost: it is turned off"})
        elif feed.subscription_id in mine:
            kept = mine[feed.subscription_id]
            has_own = hasattr(kept, "schedule")
            rows.append({"what": what, "ok": True, "message": (
                f"{survivor.display_name} already follows this search (“{kept}”)"
                + ("; its own schedule is kept" if has_own and schedule is not None else
                   "; the schedule is recreated on it" if schedule is not None else ""))})
        else:
            rows.append({"what": what, "ok": True, "message": f"recreated for {survivor.display_name}"
                                                              + (" with its schedule" if schedule else "")})
    return rows
