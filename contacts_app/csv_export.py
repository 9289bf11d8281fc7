"""Contacts out of the app: CSV (streamed from a server-side cursor) and vCard 3.0, each export in the audit log.

A list of 50,000 contacts starts downloading at once and never sits in memory: the rows are read from PostgreSQL
in chunks of `CSV_EXPORT_CHUNK` (`QuerySet.iterator`, a named cursor) and written one line at a time.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.http import StreamingHttpResponse
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.outbox.models import AuditEvent, SparkWrite
from crm.spark.records import CONTACT_WRITABLE_LIMITS

from .models import Contact

LIST_SEPARATOR = "; "
# The documented writable fields in the order of Spark's contact record, then the list fields.
ATTRIBUTE_COLUMNS = [name for name in (
    "DisplayName", "PrimaryEmail", "GivenName", "MiddleName", "FamilyName", "Salutation", "SpouseGivenName",
    "SpouseMiddleName", "SpouseFamilyName", "PrimaryPhoneNumber", "MobilePhoneCountryCode", "MobilePhoneNumber",
    "HomePhoneNumber", "WorkPhoneNumber", "FaxPhoneNumber", "PagerPhoneNumber", "OtherPhoneNumber",
    "HomeStreetAddress", "HomeLocality", "HomeRegion", "HomePostalCode", "WorkStreetAddress", "WorkLocality",
    "WorkRegion", "WorkPostalCode", "Organization", "Position", "Birthday", "Anniversary", "Assistant", "Children",
    "Status", "Other", "Pets", "ReferredBy", "Note",
) if name in CONTACT_WRITABLE_LIMITS]
LIST_COLUMNS = ["SecondaryEmails", "AdditionalNotificationEmails", "Tags"]
STATE_COLUMNS = ["RecordStatus", "Score", "RelativeScore", "Trend7d", "LastActivity", "ModificationTimestamp",
                 "CreatedTimestamp"]
COLUMNS = ["Id", *ATTRIBUTE_COLUMNS, *LIST_COLUMNS, *STATE_COLUMNS]

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP): such a cell is written
# with a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The last day of the 30-day series with any activity (each day's score is that day's points).
LAST_ACTIVITY_SQL = (
    "SELECT max(d->>'date') FROM contacts_app_contactactivity a, jsonb_array_elements("
    "CASE WHEN jsonb_typeof(a.daily) = 'array' THEN a.daily ELSE '[]'::jsonb END) AS d "
    "WHERE a.contact_id = contacts_app_contact.id AND jsonb_typeof(d->'score') = 'number' "
    "AND (d->>'score')::numeric > 0"
)


def cell_escape(value: str) -> str:
    """The text a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value if v not in (None, ""))
    return str(value)


def _stamp(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else ""


def export_queryset(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    """The contacts with the last-activity date, reading only the columns the export writes."""
    return qs.annotate(last_activity=RawSQL(LAST_ACTIVITY_SQL, [])).only(  # noqa: S611 - fixed SQL, no parameters
        "id", "spark_id", "display_name", "primary_email", "primary_phone", "tags", "record_status", "score",
        "relative_score", "trend_7d", "attributes", "spark_modified_at", "spark_created_at", "owner_id")


def contact_row(contact: Contact) -> list:
    attrs = contact.attributes or {}
    row: list = [contact.spark_id or ""]
    for name in ATTRIBUTE_COLUMNS:
        if name == "DisplayName":
            row.append(contact.display_name)
        elif name == "PrimaryEmail":
            row.append(contact.primary_email or attrs.get(name, ""))
        elif name == "PrimaryPhoneNumber":
            row.append(contact.primary_phone or attrs.get(name, ""))
        else:
            row.append(_text(attrs.get(name)))
    row += [_text(attrs.get("SecondaryEmails")), _text(attrs.get("AdditionalNotificationEmails")),
            _text(contact.tags)]
    row += [contact.record_status, contact.score, contact.relative_score, contact.trend_7d,
            getattr(contact, "last_activity", None) or "", _stamp(contact.spark_modified_at),
            _stamp(contact.spark_created_at)]
    return [cell_escape(v) if isinstance(v, str) else ("" if v is None else v) for v in row]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer to hand to the stream."""

    def write(self, value: str) -> str:
        return value


def csv_lines(contacts: Iterable[Contact], *, extra: list[tuple[str, callable]] | None = None) -> Iterator[str]:
    """The header, then one CSV line per contact (`extra`: leading columns of (header, contact -> value))."""
    writer = csv.writer(_Echo())
    extra = extra or []
    yield "\ufeff"  # a BOM, so Excel opens the UTF-8 file as UTF-8
    yield writer.writerow([h for h, _ in extra] + COLUMNS)
    for contact in contacts:
        yield writer.writerow([cell_escape(_text(fn(contact))) for _, fn in extra] + contact_row(contact))


def csv_response(qs: QuerySet[Contact], *, filename: str, extra=None) -> StreamingHttpResponse:
    rows = export_queryset(qs).iterator(chunk_size=settings.CSV_EXPORT_CHUNK)
    response = StreamingHttpResponse(csv_lines(rows, extra=extra), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# -- vCard 3.0 (RFC 2426) ---------------------------------------------------------------------------------------


def _vcard_escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace("\r\n", "\n").replace("\n", "\\n").replace(",", "\\,")
            .replace(";", "\\;"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (a CRLF and a space), never inside a UTF-8 character."""
    out, current = [], ""
    for ch in line:
        if len((current + ch).encode()) > 75:
            out.append(current)
            current = " " + ch
        else:
            current += ch
    out.append(current)
    return "\r\n".join(out)


def vcard(contact: Contact) -> str:
    a = contact.attributes or {}
    e = _vcard_escape
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{e(contact.display_name)}",
             "N:" + ";".join(e(str(a.get(k) or "")) for k in ("FamilyName", "GivenName", "MiddleName",
                                                               "Salutation")) + ";"]
    emails = [contact.primary_email] + [x for x in a.get("SecondaryEmails") or [] if isinstance(x, str)]
    for i, email in enumerate(x for x in emails if x):
        lines.append(f"EMAIL;TYPE=INTERNET{',PREF' if i == 0 else ''}:{e(email)}")
    for name, kind in (("PrimaryPhoneNumber", "VOICE,PREF"), ("MobilePhoneNumber", "CELL"),
                       ("HomePhoneNumber", "HOME"), ("WorkPhoneNumber", "WORK"), ("FaxPhoneNumber", "FAX"),
                       ("PagerPhoneNumber", "PAGER"), ("OtherPhoneNumber", "VOICE")):
        value = contact.primary_phone if name == "PrimaryPhoneNumber" else a.get(name)
        if value:
            lines.append(f"TEL;TYPE={kind}:{e(str(value))}")
    for prefix, kind in (("Home", "HOME"), ("Work", "WORK")):
        parts = [str(a.get(f"{prefix}{k}") or "") for k in ("StreetAddress", "Locality", "Region", "PostalCode")]
        if any(parts):
            lines.append(f"ADR;TYPE={kind}:;;" + ";".join(e(p) for p in parts) + ";")
    if a.get("Organization"):
        lines.append(f"ORG:{e(str(a['Organization']))}")
    if a.get("Position"):
        lines.append(f"TITLE:{e(str(a['Position']))}")
    birthday = str(a.get("Birthday") or "")
    if len(birthday) >= 10 and birthday[4] == "-" and birthday[:4].isdigit():
        lines.append(f"BDAY:{birthday[:10]}")
    if contact.tags:
        lines.append("CATEGORIES:" + ",".join(e(t) for t in contact.tags))
    if a.get("Note"):
        lines.append(f"NOTE:{e(str(a['Note']))}")
    if contact.spark_id:
        lines.append(f"UID:flexmls-contact-{e(contact.spark_id)}")
    lines.append("END:VCARD")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def vcard_response(qs: QuerySet[Contact], *, filename: str) -> StreamingHttpResponse:
    rows = qs.iterator(chunk_size=settings.CSV_EXPORT_CHUNK)
    response = StreamingHttpResponse((vcard(c) for c in rows), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# -- the audit log ------------------------------------------------------------------------------------------------


def export_record(*, user, account: SparkAccount | None, fmt: str, what: dict, rows: int,
                  source: str = SparkWrite.Source.PAGE) -> AuditEvent:
    """Who exported which contacts (the filter or the selection) and how many rows, before any row leaves."""
    name = (user.get_full_name() or user.get_username()) if user is not None else "Background job"
    return AuditEvent.objects.create(
        actor=user if user is not None and user.is_authenticated else None, actor_name=name, source=source,
        account=account, action=f"export_{fmt}", after={**what, "format": fmt, "rows": rows},
        outcome=AuditEvent.Outcome.DONE, message=f"Exported {rows} contact{'s' if rows != 1 else ''} as {fmt.upper()}",
    )


def export_filename(prefix: str, ext: str) -> str:
    return f"{prefix}-{timezone.localtime():%Y-%m-%d-%H%M}.{ext}"
