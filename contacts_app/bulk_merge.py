"""Merging the obvious duplicate groups (every member has the same primary e-mail, case-insensitive) in one bulk job.

The job (kind "merge") keeps the groups as the agent confirmed them, the survivor first. Its preparer makes one
merge write per other member (the single merge's write and handler: PUT the survivor, then DELETE the other), held
until the job's undo window ends (`params["undo_until"]`, settings.UNDO_WINDOW_S after the agent confirmed): until
then "Undo all" (`bulk_merge_undo`) takes the whole job back, after it the merges not yet sent. A group of three gets
two writes on the same survivor, sent in order (the outbox serialises writes per contact), each carrying everything
merged into the survivor so far (so a later one is not sent, and fails with why, if an earlier one did not go
through). The field rules are the single merge's, with no one to pick per field: the survivor's values win, its
empty fields are filled from the other, tags united, notes joined, the other's e-mails become secondary. A group
that changed since the agent confirmed it is skipped, with why.
"""

from __future__ import annotations

import copy
import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite
from crm.outbox.queue import WriteRefused, write_queue, write_record
from crm.outbox.worker import claim_ttl

from .delivery import contact_write_state_refresh
from .duplicate_models import DuplicateGroup
from .locks import contacts_lock
from .merge import CHOSEN_FIELDS, _emails, _last_activity, _snapshot, _value, merge_plan, portal_account
from .merge_carry import carry_preview
from .models import LIST_ROWS, Contact

MAX_GROUPS = 500
SURVIVOR_RULE = ("The contact kept is the one with the most details filled in (fields, tags, note, e-mails); on a "
                 "tie, the one changed most recently in flexmls; then the older one.")


def _completeness(contact: Contact) -> int:
    filled = sum(1 for name in CHOSEN_FIELDS if _value(contact, name).strip())
    return filled + len(contact.tags) + bool(_value(contact, "Note").strip()) + len(_emails(contact))


def survivor_order(members: list[Contact]) -> list[Contact]:
    """The survivor first (SURVIVOR_RULE), then the others in the order they are merged into it (oldest first)."""
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    best = max(members, key=lambda c: (_completeness(c), c.spark_modified_at or oldest, -c.pk))
    return [best, *sorted((c for c in members if c.pk != best.pk), key=lambda c: c.pk)]


def _email_key(contact: Contact) -> str:
    return (contact.primary_email or "").strip().lower()


def obvious_groups(*, account: SparkAccount) -> list[list[Contact]]:
    """The finder's groups whose members all share one primary e-mail (case-insensitive), survivor first."""
    groups = list(DuplicateGroup.objects.filter(account=account).order_by("-best", "id")
                  .values_list("contact_ids", flat=True)[:MAX_GROUPS * 4])
    ids = {i for g in groups for i in g}
    contacts = {c.pk: c for c in Contact.objects.filter(LIST_ROWS, owner=account, pk__in=ids)}
    found = []
    for group in groups:
        members = [contacts[i] for i in group if i in contacts]
        keys = {_email_key(c) for c in members}
        if len(members) >= 2 and len(members) == len(group) and len(keys) == 1 and "" not in keys:
            found.append(survivor_order(members))
    return found[:MAX_GROUPS]


@transaction.atomic
def bulk_merge_start(*, account: SparkAccount, user, groups: list[list[int]]) -> BulkJob:
    """Start the job for the groups as the agent confirmed them (survivor first). Every id must be the agent's."""
    groups = [g for g in groups if len(g) >= 2][:MAX_GROUPS]
    if not groups:
        raise WriteRefused("There are no obvious groups to merge.")
    ids = [i for g in groups for i in g]
    if len(set(ids)) != len(ids):
        raise WriteRefused("A contact is in two groups; check again and merge from the new list.")
    if Contact.objects.filter(owner=account, pk__in=ids).count() != len(ids):
        raise Contact.DoesNotExist
    undo_until = timezone.now() + dt.timedelta(seconds=settings.UNDO_WINDOW_S)
    job = BulkJob.objects.create(account=account, created_by=user if user and user.is_authenticated else None,
                                 kind=BulkJob.Kind.MERGE, contact_ids=ids,
                                 params={"groups": groups, "undo_until": undo_until.isoformat()},
                                 total=sum(len(g) - 1 for g in groups), source="bulk")
    from crm.outbox.tasks import run_bulk_job

    transaction.on_commit(lambda: run_bulk_job.delay(job.pk))
    return job


def merge_prepare(job: BulkJob) -> int:
    """One transaction per group, so a group is prepared whole or not at all (safe to run again). Each holds the
    job's row (as the CSV import's chunks do): an undo waits for the group and then takes it back too, and no group
    is prepared once the job is undone."""
    done = {w for w in job.writes.values_list("payload__other_pk", flat=True)}
    done |= {s["contact_id"] for s in job.params.get("skipped", [])}
    created = 0
    for group in job.params.get("groups", []):
        if all(pk in done for pk in group[1:]):
            continue
        with transaction.atomic():
            locked = BulkJob.objects.select_for_update(no_key=True).get(pk=job.pk)
            if locked.status != BulkJob.Status.PREPARING:
                return created  # undone (or stopped) meanwhile
            made, skipped = _group(job, group)
            created += made
            if skipped:
                locked.params = {**locked.params, "skipped": locked.params.get("skipped", []) + skipped}
                locked.save(update_fields=["params"])
                job.params = locked.params
        BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
            claimed_until=timezone.now() + claim_ttl(), updated_at=timezone.now()
        )
    return created


def _hold(job: BulkJob) -> tuple[dt.datetime | None, float]:
    """When a write made now goes out, and in how many seconds: the end of the job's undo window, or at once."""
    until = job.params.get("undo_until")
    if not until:
        return None, 0
    until = dt.datetime.fromisoformat(until)
    left = (until - timezone.now()).total_seconds()
    return (until, left) if left > 0 else (None, 0)


def _why_not(job: BulkJob, group: list[int], found: dict[int, Contact]) -> str:
    """Why the group cannot be merged as confirmed, or ""."""
    if len(found) != len(group):
        return "The group changed since you confirmed it: a contact is no longer in your list."
    if any(c.pending_delete for c in found.values()):
        return "One of these contacts is being deleted or merged already."
    if len({_email_key(c) for c in found.values()} | {""}) != 2:
        return "The group changed since you confirmed it: the contacts no longer share one primary e-mail."
    if any(not c.spark_id for c in found.values()):
        return "A contact is not in flexmls yet; merge once its creation is confirmed."
    if SparkWrite.objects.filter(contact_id__in=group, status__in=SparkWrite.OPEN).exclude(bulk_job=job).exists():
        return "A change to one of these contacts is still on its way to flexmls; merge once it is."
    return ""


def _label(other_name: str, survivor_name: str) -> str:
    return f"{other_name or '(no name)'} into {survivor_name or '(no name)'}"


def _group(job: BulkJob, group: list[int]) -> tuple[int, list[dict]]:
    found = {c.pk: c for c in contacts_lock(account=job.account, ids=group)}
    survivor = found.get(group[0])
    survivor_name = survivor.display_name if survivor else ""
    reason = _why_not(job, group, found)
    if reason:
        return 0, [{"contact_id": pk, "name": _label(found[pk].display_name if pk in found else "", survivor_name),
                    "reason": reason} for pk in group[1:]]
    # The survivor as it will be after each merge (in memory): each write carries everything merged so far.
    merged = copy.deepcopy(survivor)
    changes: dict = {}
    made, skipped, merged_before = 0, [], []
    for pk in group[1:]:
        other = found[pk]
        keep = {name: "other" for name in CHOSEN_FIELDS if not _value(merged, name).strip()}
        plan = merge_plan(merged, other, keep)
        if plan.errors:
            skipped.append({"contact_id": pk, "name": _label(other.display_name, survivor_name),
                            "reason": " ".join(plan.errors)})
            continue
        before = {"survivor": _snapshot(merged), "other": _snapshot(other)}
        until, countdown = _hold(job)
        _apply(merged, plan.changes)
        changes = {**changes, **plan.changes}
        other.pending_delete = True
        other.save(update_fields=["pending_delete", "updated_at"])
        write = write_record(
            account=job.account, user=job.created_by, contact=survivor, kind=SparkWrite.Kind.MERGE, source=job.source,
            payload={"changes": changes, "other_spark_id": other.spark_id, "other_pk": other.pk,
                     "other_name": other.display_name, "after_merges": list(merged_before)},
            before=before, after={"survivor": _snapshot(merged), "other": "deleted"}, bulk_job=job,
            next_attempt_at=until,
        )
        write_queue(write, countdown=countdown)
        merged_before.append(other.pk)
        made += 1
    return made, skipped


def _apply(contact: Contact, changes: dict) -> None:
    attributes = dict(contact.attributes) if isinstance(contact.attributes, dict) else {}
    for name, value in changes.items():
        if name == "DisplayName":
            contact.display_name = value
        elif name == "PrimaryPhoneNumber":
            contact.primary_phone = value
        elif name == "Tags":
            contact.tags = list(value)
        else:
            attributes[name] = value
    contact.attributes = attributes


def group_previews(groups: list[list[Contact]]) -> list[dict]:
    """The confirmation's blast radius, per group and per contact merged away, from the store (a few queries for
    all groups): what the survivor takes from it (empty fields filled, tags added), which news feeds and schedules
    are carried over, and what a delete in flexmls loses (shared links naming it, a portal login, its activity)."""
    contacts = [c for g in groups for c in g]
    prefetch_related_objects(contacts, "newsfeeds__schedule", "shared_links", "activity")
    previews = []
    for group in groups:
        merged = copy.deepcopy(group[0])  # the survivor as it will be after each merge of the group
        others = []
        for other in group[1:]:
            keep = {name: "other" for name in CHOSEN_FIELDS if not _value(merged, name).strip()}
            plan = merge_plan(merged, other, keep)
            had = {t.lower() for t in merged.tags}
            _apply(merged, plan.changes)
            activity = getattr(other, "activity", None) if hasattr(other, "activity") else None
            links = len(other.shared_links.all())
            last = _last_activity(activity)
            lost = [f"{links} shared link{'s' if links != 1 else ''} naming them" if links else "",
                    f"portal account {portal}" if (portal := portal_account(other)) else "",
                    f"activity score {other.score}" + (f" (last active {last})" if last else "") if other.score else ""]
            others.append({
                "contact": other,
                "fills": [f.label for f in plan.fields if f.keep == "other"],
                "tags_added": [t for t in plan.tags if t.lower() not in had],
                "carry": carry_preview(group[0], other),
                "lost": [x for x in lost if x],
                "errors": plan.errors,
            })
        previews.append({"survivor": group[0], "others": others, "ids": ",".join(str(c.pk) for c in group)})
    return previews


def obvious_summary(groups: list[list[Contact]]) -> dict:
    """What the confirmation says: how many groups and contacts, how many merged away, the undo window's seconds."""
    return {"groups": len(groups), "contacts": sum(len(g) for g in groups),
            "merged_away": sum(len(g) - 1 for g in groups), "undo_s": settings.UNDO_WINDOW_S}


def _never_prepared(job: BulkJob) -> list[dict]:
    """The merges of the confirmed groups an undo stopped before they were prepared (shown as undone too)."""
    prepared = set(job.writes.values_list("payload__other_pk", flat=True))
    prepared |= {s["contact_id"] for s in job.params.get("skipped", [])}
    pairs = [(g[0], pk) for g in job.params.get("groups", []) for pk in g[1:] if pk not in prepared]
    names = dict(Contact.objects.filter(owner=job.account_id, pk__in={i for pair in pairs for i in pair})
                 .values_list("pk", "display_name"))
    return [{"contact_id": pk, "name": _label(names.get(pk, ""), names.get(kept, ""))} for kept, pk in pairs]


@transaction.atomic
def bulk_merge_undo(*, account: SparkAccount, user, job: BulkJob) -> int | None:
    """Take back the job's merges not yet sent: all of them within its undo window, after it the ones still
    waiting their turn (those sent stay merged). The contacts they hid show again, and no more groups are prepared.
    Returns the merges taken back (None: not a bulk merge of the agent's, or it had finished)."""
    # The job's row first, as the preparer takes it for each group: undo and preparation run one after the other.
    locked = BulkJob.objects.select_for_update(no_key=True).filter(pk=job.pk, account=account).first()
    if locked is None or locked.kind != BulkJob.Kind.MERGE or locked.status not in (
            BulkJob.Status.PREPARING, BulkJob.Status.RUNNING):
        return None
    rows = list(SparkWrite.objects.select_for_update(no_key=True).filter(
        bulk_job=locked, status=SparkWrite.Status.QUEUED, attempts=0,
    ).values_list("pk", "contact_id", "contact_name", "payload__other_pk"))
    if not rows and locked.status == BulkJob.Status.RUNNING:
        return 0  # every merge is prepared and has gone out (or is going): nothing to take back, nothing changes
    now = timezone.now()
    SparkWrite.objects.filter(pk__in=[r[0] for r in rows], status=SparkWrite.Status.QUEUED, attempts=0).update(
        status=SparkWrite.Status.CANCELLED, updated_at=now)
    Contact.objects.filter(pk__in=[r[3] for r in rows if r[3]], owner=account).update(pending_delete=False)
    actor = (user.get_full_name() or user.get_username()) if user else "Background job"
    AuditEvent.objects.bulk_create([AuditEvent(
        actor=user if user and user.is_authenticated else None, actor_name=actor, source=SparkWrite.Source.BULK,
        account=account, contact_id=contact_id, contact_name=name, write_id=pk, action=SparkWrite.Kind.MERGE,
        outcome=AuditEvent.Outcome.CANCELLED, message="The bulk merge was undone before this was sent",
    ) for pk, contact_id, name, _ in rows])
    survivors = {r[1] for r in rows if r[1]}
    transaction.on_commit(lambda: [contact_write_state_refresh(c) for c in survivors])
    never = _never_prepared(locked)
    BulkJob.objects.filter(pk=locked.pk).update(
        status=BulkJob.Status.CANCELLED, claimed_until=None, finished_at=now, updated_at=now,
        params={**locked.params, "taken_back": len(rows) + len(never), "never_prepared": never},
        total=SparkWrite.objects.filter(bulk_job=locked).exclude(status=SparkWrite.Status.CANCELLED).count()
        + len(locked.params.get("skipped", [])))
    return len(rows) + len(never)

