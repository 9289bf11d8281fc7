"""Classifying each row (create, fill in a duplicate, skip a duplicate, invalid with its reason), by a worker."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone

from crm.spark.records import CONTACT_WRITABLE_LIMITS, TAG_MAX_LENGTH

from ..csv_export import FORMULA_STARTS
from ..csv_models import CsvImport, CsvImportRow
from ..duplicates import PHONE_FIELDS, DuplicateIndex, duplicate_index_for
from ..models import Contact
from .claims import READ_MAX_ATTEMPTS, _claim, _ClaimLost, _inline_rows, _queue, _refuse, _renew
from .fields import FIELDS, FORMULA, LIST_FIELDS, field_label

log = logging.getLogger(__name__)


def csv_import_classify_run(import_id: int) -> str:
    """The worker's part of a preview asked for on a large import."""
    imp = _claim(import_id, CsvImport.State.CLASSIFYING)
    if imp is None:
        return "not mine"
    try:
        return _classify_held(imp)
    except _ClaimLost:
        return "taken over"


def _classify_held(imp: CsvImport) -> str:
    csv_import_classify(imp=imp, progress=lambda done: _renew(imp, rows_read=done))
    CsvImport.objects.filter(pk=imp.pk, state=CsvImport.State.CLASSIFYING, claimed_until=imp.claimed_until).update(
        state=CsvImport.State.READY, claimed_until=None, attempts=0, updated_at=timezone.now())
    return "ready"


def csv_import_preview(*, imp: CsvImport) -> None:
    """The preview with the options just saved: now for a small import, by a worker for a large one."""
    if imp.row_count <= _inline_rows():
        csv_import_classify(imp=imp)
        return
    with transaction.atomic():
        CsvImport.objects.filter(pk=imp.pk, job__isnull=True).update(
            state=CsvImport.State.CLASSIFYING, attempts=0, rows_read=0, claimed_until=None, updated_at=timezone.now())
        transaction.on_commit(lambda: _queue(imp.pk, CsvImport.State.CLASSIFYING))
    imp.refresh_from_db()


def csv_import_nudge(imp: CsvImport) -> bool:
    """A read or preview whose worker stopped (its claim ran out) or never started is queued again; after
    READ_MAX_ATTEMPTS tries the import says so. True if it did something."""
    if imp.state not in (CsvImport.State.READING, CsvImport.State.CLASSIFYING):
        return False
    now = timezone.now()
    grace = dt.timedelta(seconds=max(settings.OUTBOX_SWEEP_GRACE_S, 5))
    stalled = (imp.claimed_until is not None and imp.claimed_until < now) or (
        imp.claimed_until is None and imp.updated_at < now - grace)
    if not stalled:
        return False
    if imp.attempts >= READ_MAX_ATTEMPTS:
        _refuse(imp, f"The file could not be read: the worker reading it stopped {imp.attempts} times. "
                     "Upload it again; if it happens again, split it into smaller files.")
        log.warning("csv import %s: given up after %s tries", imp.pk, imp.attempts)
        return True
    CsvImport.objects.filter(pk=imp.pk).update(updated_at=now)  # one queueing per grace period
    _queue(imp.pk, imp.state)
    return True


def csv_imports_sweep() -> int:
    """Run by the outbox sweep: every stalled read or preview, whether or not someone watches its page."""
    busy = CsvImport.objects.filter(state__in=[CsvImport.State.READING, CsvImport.State.CLASSIFYING])
    return sum(csv_import_nudge(imp) for imp in busy[:100])


# -- each row: create, fill in, skip or invalid -----------------------------------------------------------------


def _cell(value: str) -> str:
    value = value.strip()
    # A cell our own export escaped ("'=...", "'+1 512 ...") comes back as it was.
    if value.startswith("'") and value[1:2] and value[1:2] in FORMULA_STARTS:
        value = value[1:]
    return value


def _split_list(value: str) -> list[str]:
    parts = value.split(";") if ";" in value else value.split(",")
    # Google Contacts writes groups as "* myContacts ::: Buyers".
    parts = [p for part in parts for p in part.split(":::")]
    return [p.strip() for p in parts if p.strip() and p.strip() not in ("* myContacts", "* starred")]


@dataclass
class RowPlan:
    action: str
    reason: str = ""
    planned: dict | None = None
    contact_id: int | None = None


def mapping_errors(mapping: dict[str, str]) -> list[str]:
    errors = []
    seen: dict[str, int] = {}
    for col, name in sorted(mapping.items(), key=lambda kv: int(kv[0])):
        if name not in FIELDS:
            errors.append(f"Column {int(col) + 1}: “{name}” is not a contact field.")
        elif name not in LIST_FIELDS and name in seen:
            errors.append(f"Two columns ({seen[name] + 1} and {int(col) + 1}) go to {field_label(name)}; "
                          "choose one.")
        seen.setdefault(name, int(col))
    has_name = any(n in ("DisplayName", "GivenName", "FamilyName") for n in mapping.values())
    if not has_name:
        errors.append("Map a column to Display name (or to First name and Last name): every contact needs a name.")
    return errors


def row_attributes(values: list[str], headers: list[str], mapping: dict[str, str],
                   tags: list[str]) -> tuple[dict, list[str]]:
    """The row's attributes for Spark and the reasons it is invalid (none: it can be sent)."""
    attrs: dict = {}
    problems: list[str] = []
    for col, name in mapping.items():
        i = int(col)
        raw = values[i] if i < len(values) else ""
        value = _cell(raw)
        if not value:
            continue
        if FORMULA.match(value):
            problems.append(f"{headers[i] or field_label(name)} holds a spreadsheet formula ({value[:30]}"
                            f"{'…' if len(value) > 30 else ''}); put the value itself")
            continue
        if name in LIST_FIELDS:
            attrs.setdefault(name, [])
            attrs[name] += [v for v in _split_list(value) if v not in attrs[name]]
        else:
            attrs[name] = value
    if "DisplayName" not in attrs:
        built = " ".join(attrs[n] for n in ("GivenName", "MiddleName", "FamilyName") if attrs.get(n))
        if built:
            attrs["DisplayName"] = built
        elif not problems:
            problems.append("DisplayName missing: no name in this row")
    for name, limit in CONTACT_WRITABLE_LIMITS.items():
        value = attrs.get(name, "")
        if len(value) > limit:
            problems.append(f"{field_label(name)} is {len(value):,} characters; flexmls takes at most {limit:,}")
    for email in [attrs.get("PrimaryEmail", ""), *attrs.get("SecondaryEmails", [])]:
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problems.append(f"bad e-mail “{email[:80]}”")
    for tag in attrs.get("Tags", []):
        if len(tag) > TAG_MAX_LENGTH:
            problems.append(f"the tag “{tag[:30]}…” is {len(tag)} characters; flexmls takes at most {TAG_MAX_LENGTH}")
    if tags:
        attrs["Tags"] = [*attrs.get("Tags", []), *(t for t in tags if t not in attrs.get("Tags", []))]
    return attrs, problems


def _keys(attrs: dict) -> tuple[list[str], list[str]]:
    return ([attrs.get("PrimaryEmail", ""), *attrs.get("SecondaryEmails", [])],
            [attrs.get(name, "") for name in PHONE_FIELDS])


def _fill_plan(contact: Contact, attrs: dict) -> dict:
    """What a row adds to a contact that has it already: the fields the contact has empty, and new tags."""
    have = contact.attributes or {}
    changes = {}
    for name, value in attrs.items():
        if name in ("Tags", "DisplayName"):
            continue
        current = {"PrimaryEmail": contact.primary_email, "PrimaryPhoneNumber": contact.primary_phone}.get(
            name, have.get(name))
        if not current:
            changes[name] = value
    return {"changes": changes, "tags": [t for t in attrs.get("Tags", []) if t not in contact.tags]}


def csv_import_classify(*, imp: CsvImport, index: DuplicateIndex | None = None, progress=None) -> dict[str, int]:
    """Decide every row's action with the import's mapping, tags and duplicate rule; returns the counts.
    `progress(rows_done)` is called after each batch (a worker renews its claim there)."""
    index = index or duplicate_index_for(account=imp.account)
    fill = imp.on_duplicate == CsvImport.OnDuplicate.FILL
    contacts: dict[int, Contact] = {}
    if fill:
        ids = set(index.emails.values()) | set(index.phones.values())
        contacts = {c.pk: c for c in Contact.objects.filter(pk__in=ids).only(
            "pk", "display_name", "primary_email", "primary_phone", "attributes", "tags")}
    names = dict(Contact.objects.filter(owner=imp.account).values_list("pk", "display_name")) if not fill else {}
    in_file = DuplicateIndex()
    counts = {a: 0 for a in CsvImportRow.Action.values}
    batch: list[CsvImportRow] = []

    done = 0

    def flush():
        nonlocal done
        _rows_plan_save(batch)
        done += len(batch)
        batch.clear()
        if progress is not None:
            progress(done)

    for row in imp.rows.order_by("line").iterator(2000):
        attrs, problems = row_attributes(row.values, imp.headers, imp.mapping, imp.tags)
        plan = RowPlan(CsvImportRow.Action.CREATE, planned={"attributes": attrs})
        if problems:
            plan = RowPlan(CsvImportRow.Action.INVALID, "; ".join(problems)[:1000])
        else:
            emails, phones = _keys(attrs)
            match = index.find(emails=emails, phones=phones)
            earlier = in_file.find(emails=emails, phones=phones) if match is None else None
            if earlier is not None:
                plan = RowPlan(CsvImportRow.Action.SKIP, f"Same {earlier.how} as line {earlier.key} of this file")
            elif match is not None and fill and match.key in contacts:
                contact = contacts[match.key]
                planned = _fill_plan(contact, attrs)
                if planned["changes"] or planned["tags"]:
                    what = ", ".join([field_label(n) for n in planned["changes"]] + (["tags"] if planned["tags"]
                                                                                      else []))
                    plan = RowPlan(CsvImportRow.Action.UPDATE, f"Matches {contact.display_name} ({match.how}); "
                                   f"adds {what}", planned, contact.pk)
                else:
                    plan = RowPlan(CsvImportRow.Action.SKIP, f"Matches {contact.display_name} ({match.how}); "
                                   "nothing to add", None, contact.pk)
            elif match is not None:
                name = contacts[match.key].display_name if match.key in contacts else names.get(match.key, "")
                plan = RowPlan(CsvImportRow.Action.SKIP, f"Already in your contacts as {name} ({match.how})",
                               None, match.key)
            in_file.add(row.line, emails=emails, phones=phones)
        row.action, row.reason, row.planned, row.contact_id = plan.action, plan.reason, plan.planned or {}, \
            plan.contact_id
        counts[plan.action] += 1
        batch.append(row)
        if len(batch) >= 2000:
            flush()
    flush()
    imp.counts = counts
    imp.save(update_fields=["counts", "updated_at"])
    return counts


def _rows_plan_save(rows: list[CsvImportRow]) -> None:
    """One UPDATE ... FROM (VALUES ...) for the batch: linear in its size (bulk_update's CASE WHEN is quadratic,
    minutes for 50,000 rows)."""
    if not rows:
        return
    table = CsvImportRow._meta.db_table
    values = ", ".join(["(%s::bigint, %s::text, %s::text, %s::jsonb, %s::bigint)"] * len(rows))
    params: list = []
    for r in rows:
        params += [r.pk, r.action, r.reason, json.dumps(r.planned or {}), r.contact_id]
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {table} AS r SET action = v.action, reason = v.reason, planned = v.planned, "  # noqa: S608 - our table name
            f"contact_id = v.contact_id FROM (VALUES {values}) AS v(id, action, reason, planned, contact_id) "
            "WHERE r.id = v.id", params)


def planned_writes(row: CsvImportRow) -> int:
    if row.action == CsvImportRow.Action.CREATE:
        return 1
    if row.action == CsvImportRow.Action.UPDATE:
        return (1 if row.planned.get("changes") else 0) + len(row.planned.get("tags", []))
    return 0
