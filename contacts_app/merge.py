"""Merging two duplicates: the plan (what the survivor ends up with), the blast-radius preview (what the contact
being removed has that a delete in flexmls loses), and the one outbox write that does it (kind "merge": PUT the
survivor's changed fields, read them back, then DELETE the other), which waits out the undo window like a delete."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.outbox.models import SparkWrite
from crm.outbox.queue import WriteRefused, write_queue, write_record
from crm.outbox.registry import Permanent
from crm.spark import SparkClient
from crm.spark.errors import SparkNotFound
from crm.spark.records import CONTACT_WRITABLE_LIMITS, TAG_MAX_LENGTH

from . import services
from .delivery import _fetch_contact, _has_other_open_writes, store_contact_from_spark
from .locks import contacts_lock
from .merge_carry import carry_over, carry_preview
from .models import Contact, contact_merged

# The fields the agent picks per field (radio). PrimaryEmail comes with the survivor (the other's e-mails become
# its secondary e-mails: flexmls refuses one address as two contacts' primary); notes are joined, tags united.
LABELS = {
    "DisplayName": "Name", "GivenName": "First name", "MiddleName": "Middle name", "FamilyName": "Last name",
    "PrimaryPhoneNumber": "Phone", "MobilePhoneNumber": "Mobile phone", "HomePhoneNumber": "Home phone",
    "WorkPhoneNumber": "Work phone", "OtherPhoneNumber": "Other phone", "FaxPhoneNumber": "Fax",
    "PagerPhoneNumber": "Pager", "HomeStreetAddress": "Home street", "HomeLocality": "Home city",
    "HomeRegion": "Home state", "HomePostalCode": "Home ZIP", "WorkStreetAddress": "Work street",
    "WorkLocality": "Work city", "WorkRegion": "Work state", "WorkPostalCode": "Work ZIP",
    "Organization": "Company", "Position": "Position", "Birthday": "Birthday", "Anniversary": "Anniversary",
    "SpouseGivenName": "Spouse's first name", "SpouseMiddleName": "Spouse's middle name",
    "SpouseFamilyName": "Spouse's last name", "Assistant": "Assistant", "Children": "Children", "Status": "Status",
    "Other": "Other", "Pets": "Pets", "ReferredBy": "Referred by", "Salutation": "Salutation",
    "MobilePhoneCountryCode": "Mobile country code",
}
CHOSEN_FIELDS = tuple(name for name in LABELS if name in CONTACT_WRITABLE_LIMITS)
NOTE_SEPARATOR = "\n\n— merged from {name} —\n"


def _value(contact: Contact, name: str) -> str:
    if name == "DisplayName":
        return contact.display_name or ""
    if name == "PrimaryPhoneNumber" and contact.primary_phone:
        return contact.primary_phone
    value = contact.attributes.get(name) if isinstance(contact.attributes, dict) else None
    return value if isinstance(value, str) else ""


def _emails(contact: Contact) -> list[str]:
    value = contact.attributes.get("SecondaryEmails") if isinstance(contact.attributes, dict) else None
    return [e.strip() for e in value if isinstance(e, str) and e.strip()] if isinstance(value, list) else []


def _unique(values: list[str], *, exclude: str = "") -> list[str]:
    seen, out = {exclude.strip().lower()} if exclude.strip() else set(), []
    for v in values:
        if v.strip().lower() not in seen:
            seen.add(v.strip().lower())
            out.append(v)
    return out


@dataclass
class MergeField:
    name: str
    label: str
    survivor: str
    other: str
    keep: str = "survivor"  # or "other"


@dataclass
class MergePlan:
    survivor: Contact
    other: Contact
    fields: list[MergeField]
    tags: list[str]
    note: str
    secondary_emails: list[str]
    changes: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def merge_plan(survivor: Contact, other: Contact, keep: dict[str, str] | None = None) -> MergePlan:
    """What the survivor would hold: per differing field the kept value (`keep[name] == "other"` takes the other's),
    tags united, notes joined, the other's e-mails as secondary e-mails. `changes` is what the PUT sends."""
    keep = keep or {}
    fields = []
    for name in CHOSEN_FIELDS:
        mine, theirs = _value(survivor, name), _value(other, name)
        if theirs and mine != theirs:
            fields.append(MergeField(name, LABELS[name], mine, theirs, "other" if keep.get(name) == "other" else
                                     "survivor"))
    tags = _unique([*survivor.tags, *other.tags])
    mine_note, theirs_note = _value(survivor, "Note").strip(), _value(other, "Note").strip()
    if theirs_note and theirs_note != mine_note:
        joined = NOTE_SEPARATOR.format(name=other.display_name).join(n for n in (mine_note, theirs_note) if n)
        note = joined if mine_note else theirs_note
    else:
        note = _value(survivor, "Note")
    secondary = _unique([*_emails(survivor), other.primary_email, *_emails(other)], exclude=survivor.primary_email)
    secondary = [e for e in secondary if e.strip()]
    plan = MergePlan(survivor, other, fields, tags, note, secondary)
    changes = {f.name: f.other for f in fields if f.keep == "other"}
    if tags != list(survivor.tags):
        changes["Tags"] = tags
    if note != _value(survivor, "Note"):
        changes["Note"] = note
    if secondary != _emails(survivor):
        changes["SecondaryEmails"] = secondary
    plan.changes = changes
    plan.errors = _limit_errors(changes)
    return plan


def _limit_errors(changes: dict) -> list[str]:
    """flexmls's limits, checked before anything is queued (the agent reads these)."""
    errors = []
    for name, value in changes.items():
        limit = CONTACT_WRITABLE_LIMITS.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            what = "The joined notes" if name == "Note" else LABELS.get(name, name)
            errors.append(f"{what} would be {len(value):,} characters; flexmls allows at most {limit:,}.")
    for tag in changes.get("Tags", []):
        if len(tag) > TAG_MAX_LENGTH:
            errors.append(f"The tag “{tag[:40]}…” is longer than the {TAG_MAX_LENGTH} characters flexmls allows.")
    for email in changes.get("SecondaryEmails", []):
        if len(email) > 75:
            errors.append(f"The e-mail “{email[:40]}…” is longer than the 75 characters flexmls allows.")
    return errors


# -- blast radius: from our store, no call to Spark ----------------------------------------------------------


def merge_blast_radius(other: Contact, survivor: Contact) -> dict:
    """What the contact being removed has that a delete in flexmls loses, as the store knows it, and which of its
    news feeds and schedules the merge carries over to the survivor. Read through the contacts' own relations (news
    feeds and shared links point at the contact), so no other app is imported."""
    links = list(other.shared_links.all().order_by("-shared_at")[:50])
    activity = getattr(other, "activity", None) if hasattr(other, "activity") else None
    return {"links": links, "activity": activity, "score": other.score, "last_activity": _last_activity(activity),
            "carry": carry_preview(survivor, other)}


def portal_account(contact: Contact) -> str | None:
    """The contact's portal account as the store knows it (the sync reads it with CONTACT_EXPAND): "" when it has
    none, None when the store does not know, else the login and whether it was used in the last 30 days."""
    attrs = contact.attributes if isinstance(contact.attributes, dict) else {}
    portal = attrs.get("Portal") if isinstance(attrs.get("Portal"), dict) else None
    login = (portal or {}).get("LoginName") or attrs.get("PortalLoginName")
    login = login if isinstance(login, str) else ""
    if portal is None and not login:
        return "" if attrs.get("VowExists") is False or "Portal" in attrs else None
    enabled = (portal or {}).get("Enabled", attrs.get("VowEnabled"))
    if attrs.get("VowActive") is True:
        state = "logged in within the last 30 days"
    elif enabled is False:
        state = "disabled"
    elif "VowActive" in attrs:
        state = "not logged in within the last 30 days"
    else:
        state = ""
    name = f"“{login}”" if login else "an account"
    return f"{name}, {state}" if state else name


def _last_activity(activity) -> str:
    """The last day of the 30-day series with a score above nothing, if the store has it."""
    if activity is None or not isinstance(activity.daily, list):
        return ""
    days = [d.get("date", "") for d in activity.daily if isinstance(d, dict) and d.get("score")]
    return max(days) if days else ""


# -- the write ----------------------------------------------------------------------------------------------


def _snapshot(contact: Contact) -> dict:
    return {"spark_id": contact.spark_id or "", "DisplayName": contact.display_name,
            "PrimaryEmail": contact.primary_email, "Tags": list(contact.tags),
            **{k: v for k, v in (contact.attributes or {}).items()
               if k in CONTACT_WRITABLE_LIMITS or k == "SecondaryEmails"}}


@transaction.atomic
def contact_merge(*, account: SparkAccount, user, survivor_pk: int, other_pk: int, keep: dict[str, str],
                  source: str = "page", undo_s: int | None = None) -> SparkWrite:
    """Queue the merge: one outbox write on the survivor, sent after the undo window; the other is hidden at once
    (pending_delete) and shown again if the merge is undone or refused."""
    if survivor_pk == other_pk:
        raise WriteRefused("Pick two different contacts.")
    undo_s = settings.UNDO_WINDOW_S if undo_s is None else undo_s
    locked = {c.pk: c for c in contacts_lock(account=account, ids=[survivor_pk, other_pk])}
    if len(locked) != 2:
        raise Contact.DoesNotExist
    survivor, other = locked[survivor_pk], locked[other_pk]
    if survivor.pending_delete or other.pending_delete:
        raise WriteRefused("One of these contacts is being deleted or merged already.")
    if not survivor.spark_id or not other.spark_id:
        raise WriteRefused("Both contacts must be in flexmls first; wait until their creation is confirmed.")
    if SparkWrite.objects.filter(contact_id__in=[survivor.pk, other.pk], status__in=SparkWrite.OPEN).exists():
        raise WriteRefused("A change to one of these contacts is still on its way to flexmls; merge once it is.")
    plan = merge_plan(survivor, other, keep)
    if plan.errors:
        raise WriteRefused(" ".join(plan.errors))
    other.pending_delete = True
    other.save(update_fields=["pending_delete", "updated_at"])
    before = {"survivor": _snapshot(survivor), "other": _snapshot(other)}
    after = {"survivor": {**_snapshot(survivor), **plan.changes}, "other": "deleted"}
    write = write_record(
        account=account, user=user, contact=survivor, kind=SparkWrite.Kind.MERGE, source=source,
        payload={"changes": plan.changes, "other_spark_id": other.spark_id, "other_pk": other.pk,
                 "other_name": other.display_name},
        before=before, after=after, next_attempt_at=timezone.now() + dt.timedelta(seconds=undo_s),
    )
    write_queue(write, countdown=undo_s)
    return write


def contact_merge_undo(*, account: SparkAccount, user, write: SparkWrite) -> bool:
    """Cancel a merge still inside its undo window: nothing was sent, both contacts stay as they were."""
    return services.write_undo(account=account, user=user, write=write, kind=SparkWrite.Kind.MERGE,
                               hidden_pk=write.payload.get("other_pk"))


def _same(name: str, wanted, got) -> bool:
    if isinstance(wanted, list):
        return [str(v).lower() for v in wanted] == [str(v).lower() for v in (got or [])]
    return (wanted or "") == (got or "")


def deliver_merge(client: SparkClient, write: SparkWrite) -> None:
    """PUT the survivor's changed fields, read them back, then DELETE the other. Each step is safe to run again:
    a second PUT sends the same values, and a DELETE that finds the other gone is what was wanted. If the PUT is
    refused (the survivor gone from flexmls, a constraint), nothing is deleted."""
    contact = write.contact
    if contact is None or not contact.spark_id:
        raise Permanent("The contact to keep no longer exists here, or was never created in flexmls.")
    earlier = write.payload.get("after_merges") or []
    if earlier and Contact.objects.filter(pk__in=earlier, owner_id=write.account_id).exists():
        # A bulk merge's later write in a group carries what the earlier ones merged: not sent unless they went.
        raise Permanent("The merge before it in this group did not go through, so this one was not sent; "
                        "nothing was deleted.")
    changes = dict(write.payload.get("changes") or {})
    if "Tags" in changes:
        # Tags are a list on the contact: a tag added to the survivor in flexmls since the merge was asked for stays.
        current = _fetch_contact(client, contact.spark_id)
        changes["Tags"] = _unique([*changes["Tags"], *current.tags])
    if changes:
        client.request("PUT", f"/contacts/{contact.spark_id}", data=changes)
    record = _fetch_contact(client, contact.spark_id)  # confirms the survivor is there, with what was sent
    wrong = [name for name, value in changes.items() if not _same(name, value, record.attributes.get(name)
                                                                  if name != "Tags" else record.tags)]
    if wrong:
        raise Permanent(f"flexmls did not keep {', '.join(sorted(wrong))}; nothing was deleted.")
    if "carried" not in write.payload:
        # Before the DELETE takes them: the other's news feeds and schedules, recreated on the survivor where
        # possible. Kept on the write first, so a run after an unknown outcome does not do it twice.
        carried = carry_over(client, survivor_spark_id=contact.spark_id, other_spark_id=write.payload["other_spark_id"],
                             survivor_name=contact.display_name or "the contact kept")
        if carried is not None:
            write.payload = {**write.payload, "carried": carried}
            SparkWrite.objects.filter(pk=write.pk).update(payload=write.payload)
    try:
        client.request("DELETE", f"/contacts/{write.payload['other_spark_id']}")
    except SparkNotFound:
        pass  # gone already: an earlier attempt's DELETE landed, or it was deleted in flexmls meanwhile
    Contact.objects.filter(pk=write.payload.get("other_pk"), owner_id=write.account_id).delete()
    if not _has_other_open_writes(write):
        store_contact_from_spark(contact, record)
    contact_merged.send(sender=Contact, account_id=write.account_id, survivor_spark_id=contact.spark_id,
                        other_spark_id=write.payload["other_spark_id"],
                        survivor_feeds_changed=any(r.get("ok") for r in write.payload.get("carried") or []))


def merge_failed(write: SparkWrite) -> None:
    """A merge refused for good: the other contact is shown again (nothing was deleted)."""
    Contact.objects.filter(pk=write.payload.get("other_pk"), owner_id=write.account_id).update(pending_delete=False)
