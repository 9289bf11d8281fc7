"""CSV import: read the file (Python's csv, charset-normalizer for what is not UTF-8), guess how its columns map to
Spark's fields, classify each row (create, fill in a duplicate, skip a duplicate, invalid with its reason), and run
it as a bulk job whose creates and updates go through the outbox at the key's rate limit.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite
from crm.safeinput import storable_text
from crm.spark.records import CONTACT_WRITABLE_LIMITS, TAG_MAX_LENGTH

from . import bulk, services
from .csv_export import FORMULA_STARTS
from .csv_models import CsvImport, CsvImportRow, CsvUpload
from .delivery import contact_write_state_refresh
from .duplicates import PHONE_FIELDS, DuplicateIndex, duplicate_index_for
from .models import Contact

log = logging.getLogger(__name__)


class CsvRefused(Exception):
    """A file the import cannot take; the message says why, for the agent."""


LIST_FIELDS = ("SecondaryEmails", "Tags")
FIELDS = [*CONTACT_WRITABLE_LIMITS, *LIST_FIELDS]
FIELD_LABELS = {"DisplayName": "Display name", "PrimaryEmail": "E-mail", "SecondaryEmails": "Other e-mails",
                "Tags": "Tags", "GivenName": "First name", "FamilyName": "Last name", "MiddleName": "Middle name",
                "PrimaryPhoneNumber": "Phone", "MobilePhoneNumber": "Mobile phone", "HomePhoneNumber": "Home phone",
                "WorkPhoneNumber": "Work phone", "FaxPhoneNumber": "Fax", "PagerPhoneNumber": "Pager",
                "OtherPhoneNumber": "Other phone", "MobilePhoneCountryCode": "Mobile country code",
                "HomeStreetAddress": "Home street", "HomeLocality": "Home city", "HomeRegion": "Home state",
                "HomePostalCode": "Home postal code", "WorkStreetAddress": "Work street", "WorkLocality": "Work city",
                "WorkRegion": "Work state", "WorkPostalCode": "Work postal code", "SpouseGivenName": "Spouse first name",
                "SpouseMiddleName": "Spouse middle name", "SpouseFamilyName": "Spouse last name",
                "ReferredBy": "Referred by"}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", " ", name).capitalize()


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


# The usual headers of Follow Up Boss, Lofty, kvCORE, Outlook and Google Contacts exports, normalized (`_norm`).
ALIASES: dict[str, tuple[str, ...]] = {
    "DisplayName": ("displayname", "name", "fullname", "contactname", "contact", "fileas"),
    "Salutation": ("salutation", "title", "prefix", "nameprefix"),
    "GivenName": ("firstname", "givenname", "first"),
    "MiddleName": ("middlename", "additionalname", "middle"),
    "FamilyName": ("lastname", "familyname", "surname", "last"),
    "PrimaryEmail": ("email", "emailaddress", "email1", "email1address", "email1value", "primaryemail",
                     "personalemail", "emailpersonal", "primaryemailaddress"),
    "SecondaryEmails": ("email2", "email2address", "email2value", "email3", "email3address", "email3value",
                        "secondaryemail", "otheremail", "workemail", "emailwork", "alternateemail"),
    "PrimaryPhoneNumber": ("phone", "phonenumber", "primaryphone", "phone1", "phone1value", "mainphone"),
    "MobilePhoneNumber": ("mobilephone", "mobile", "cellphone", "cell", "mobilenumber", "cellnumber", "phonemobile",
                          "phonecell"),
    "HomePhoneNumber": ("homephone", "phonehome", "homephone2"),
    "WorkPhoneNumber": ("workphone", "businessphone", "officephone", "phonework", "businessphone2"),
    "FaxPhoneNumber": ("fax", "businessfax", "homefax", "faxnumber", "otherfax"),
    "PagerPhoneNumber": ("pager",),
    "OtherPhoneNumber": ("otherphone", "phone2", "phone2value", "phone3", "alternatephone"),
    "HomeStreetAddress": ("address", "street", "streetaddress", "homestreet", "homeaddress", "address1street",
                          "mailingaddress", "mailingstreet", "address1", "propertyaddress"),
    "HomeLocality": ("city", "homecity", "address1city", "mailingcity"),
    "HomeRegion": ("state", "homestate", "region", "address1region", "address1state", "mailingstate", "province"),
    "HomePostalCode": ("zip", "zipcode", "postalcode", "homepostalcode", "homezip", "address1postalcode",
                       "address1zip", "mailingzip", "postcode"),
    "WorkStreetAddress": ("businessstreet", "workstreet", "workaddress", "businessaddress", "address2street"),
    "WorkLocality": ("businesscity", "workcity", "address2city"),
    "WorkRegion": ("businessstate", "workstate", "address2region"),
    "WorkPostalCode": ("businesspostalcode", "workpostalcode", "workzip", "businesszip", "address2postalcode"),
    "Organization": ("company", "organization", "organization1name", "companyname", "employer"),
    "Position": ("jobtitle", "position", "organization1title", "occupation"),
    "Birthday": ("birthday", "birthdate", "dateofbirth", "dob"),
    "Anniversary": ("anniversary", "homeanniversary"),
    "Assistant": ("assistant", "assistantsname", "assistantname"),
    "Children": ("children", "kids"),
    "Pets": ("pets",),
    "ReferredBy": ("referredby", "referral", "referrer"),
    "Status": ("status", "stage", "leadstatus"),
    "Other": ("other", "custom1"),
    "SpouseGivenName": ("spouse", "spousename", "spousefirstname"),
    "SpouseFamilyName": ("spouselastname",),
    "Note": ("note", "notes", "description", "comments", "background"),
    "Tags": ("tags", "tag", "groups", "group", "categories", "groupmembership", "labels"),
}
_GUESS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
_GUESS.update({_norm(name): name for name in FIELDS})  # the export's own headers map back to themselves

# A cell a spreadsheet would run: "=HYPERLINK(...)", "=1+2", "+SUM(...)", "@SUM(...)", "-cmd|..." (a phone
# number "+1 512 ..." or a note "- call back" is not one).
FORMULA = re.compile(r"^(=|[+\-@]\s*[A-Za-z_][A-Za-z0-9_.]*\s*[(|!])")


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """{column index: field} for the headers it recognizes; each single-valued field once (the first column)."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for i, header in enumerate(headers):
        name = _GUESS.get(_norm(header))
        if name and (name in LIST_FIELDS or name not in used):
            mapping[str(i)] = name
            used.add(name)
    return mapping


# -- reading the file ---------------------------------------------------------------------------------------------


@dataclass
class ParsedCsv:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (line in the file, cells)
    encoding: str
    delimiter: str


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:65536]:
        raise CsvRefused("This file is not a CSV file (it holds binary data). Save the spreadsheet as "
                         "“CSV (comma delimited)” and upload that.")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000], cp_isolation=["cp1252", "latin_1", "utf_8", "mac_roman", "cp850"]).best()
    encoding = best.encoding if best is not None else "cp1252"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_parse(data: bytes, *, max_rows: int | None = None, max_bytes: int | None = None) -> ParsedCsv:
    """The file's header and rows, or CsvRefused saying what is wrong with it."""
    max_rows = max_rows or settings.CSV_IMPORT_MAX_ROWS
    max_bytes = max_bytes or settings.CSV_IMPORT_MAX_BYTES
    if len(data) > max_bytes:
        raise CsvRefused(f"The file is {len(data) / 1_048_576:.1f} MB; an import takes at most "
                         f"{max_bytes / 1_048_576:.0f} MB. Split it into smaller files.")
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise CsvRefused("This is an Excel workbook, not a CSV file. In Excel choose File › Save As › "
                         "“CSV UTF-8 (comma delimited)” and upload that.")
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise CsvRefused("The file is empty.")
    text, encoding = _decode(data)
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    if "\x00" in sample or controls > max(10, len(sample) // 100):
        raise CsvRefused("This file is not a CSV file (it holds binary data). Save the spreadsheet as "
                         "“CSV (comma delimited)” and upload that.")
    delimiter = _delimiter(text.lstrip("\ufeff").split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    headers: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if headers is None:
                if not any(c.strip() for c in cells):
                    continue
                headers = [storable_text(c).strip() for c in cells]
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= max_rows:
                raise CsvRefused(f"The file has more than {max_rows:,} contacts; an import takes at most "
                                 f"{max_rows:,}. Split it into smaller files.")
            rows.append((reader.line_num, cells))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise CsvRefused(f"Line {reader.line_num} has a cell of more than {csv.field_size_limit():,} "
                             "characters; the longest field flexmls takes is the note (10,000 characters). "
                             "Shorten it and upload again.") from None
        raise CsvRefused(f"The file could not be read as CSV at line {reader.line_num}: {exc}.") from None
    if headers is None:
        raise CsvRefused("The file is empty.")
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        if h and h.lower() in seen:
            raise CsvRefused(f"The header “{h}” appears twice (columns {seen[h.lower()] + 1} and {i + 1}). "
                             "Rename one of them and upload again.")
        seen[h.lower()] = i
    if not rows:
        raise CsvRefused("The file has a header row but no contacts under it.")
    if len(headers) == 1 and not _GUESS.get(_norm(headers[0])):
        raise CsvRefused("The file has a single column that is not a contact field; is it a CSV file? "
                         "Save the spreadsheet as “CSV (comma delimited)” and upload that.")
    return ParsedCsv(headers=headers, rows=rows, encoding=encoding, delimiter=delimiter)


@transaction.atomic
def csv_import_create(*, account: SparkAccount, user, filename: str, data: bytes) -> CsvImport:
    """Read the whole file and preview it, here and now (a small file; `csv_import_upload` chooses)."""
    parsed = csv_parse(data)
    imp = CsvImport.objects.create(
        account=account, created_by=user, filename=filename[:255], encoding=parsed.encoding,
        delimiter=parsed.delimiter, headers=parsed.headers, row_count=len(parsed.rows), rows_read=len(parsed.rows),
        mapping=guess_mapping(parsed.headers),
    )
    CsvImportRow.objects.bulk_create(
        (CsvImportRow(csv_import=imp, line=line, values=[storable_text(c) for c in cells])
         for line, cells in parsed.rows), batch_size=2000)
    csv_import_classify(imp=imp)
    return imp


# -- a large file: read and previewed by a worker -------------------------------------------------------------------
# Reading 50,000 rows and checking each against the store takes a minute and more: longer than a request may take.
# The upload checks the file's head at once (an Excel workbook, a binary file, a duplicate header are refused in the
# page as for a small file), keeps the bytes, and a worker reads them while the page shows how far it got. A worker
# holds the import with a claim it renews; a claim run out (its worker died) is taken by the next poll of the page or
# the outbox sweep, READ_MAX_ATTEMPTS times, then the import says it could not be read.

SNIFF_BYTES = 256 * 1024
READ_BATCH = 2000
READ_MAX_ATTEMPTS = 3


def _inline_rows() -> int:
    return settings.CSV_IMPORT_INLINE_ROWS


def csv_sniff(data: bytes) -> ParsedCsv:
    """The file's head read as `csv_parse` reads a whole file: what is wrong at the top is said at once."""
    if len(data) > settings.CSV_IMPORT_MAX_BYTES or len(data) <= SNIFF_BYTES:
        return csv_parse(data)
    cut = data.rfind(b"\n", 0, SNIFF_BYTES)
    head = data[:cut + 1] if cut > 0 else data[:SNIFF_BYTES]
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return csv_parse(data)  # the workbook message
    return csv_parse(head, max_rows=10 ** 9)


def csv_import_upload(*, account: SparkAccount, user, filename: str, data: bytes) -> CsvImport:
    """A small file is read and previewed now; a large one is checked at its head now and read by a worker."""
    if len(data) <= settings.CSV_IMPORT_INLINE_BYTES:
        return csv_import_create(account=account, user=user, filename=filename, data=data)
    head = csv_sniff(data)
    with transaction.atomic():
        imp = CsvImport.objects.create(
            account=account, created_by=user, filename=filename[:255], encoding=head.encoding,
            delimiter=head.delimiter, headers=head.headers, mapping=guess_mapping(head.headers),
            state=CsvImport.State.READING,
        )
        CsvUpload.objects.create(csv_import=imp, data=data)
        transaction.on_commit(lambda: _queue(imp.pk, CsvImport.State.READING))
    return imp


def _queue(import_id: int, state: str) -> None:
    from .tasks import classify_csv_import, read_csv_import

    (read_csv_import if state == CsvImport.State.READING else classify_csv_import).delay(import_id)


def _claim_ttl():
    return bulk._claim_ttl()


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


def csv_import_read(import_id: int) -> str:
    """The worker's part of an upload: every row into the store, then the preview."""
    imp = _claim(import_id, CsvImport.State.READING)
    if imp is None:
        return "not mine"
    try:
        return _read_held(imp)
    except _ClaimLost:
        return "taken over"


def _read_held(imp: CsvImport) -> str:
    try:
        data = CsvUpload.objects.values_list("data", flat=True).get(csv_import=imp)
        parsed = csv_parse(bytes(data))
    except CsvUpload.DoesNotExist:
        _refuse(imp, "The uploaded file is no longer here. Upload it again.")
        return "refused"
    except CsvRefused as exc:
        _refuse(imp, str(exc))
        return "refused"
    imp.rows.all().delete()  # a try after a worker died starts again
    fields = {"encoding": parsed.encoding, "delimiter": parsed.delimiter, "row_count": len(parsed.rows)}
    if parsed.headers != imp.headers:
        fields.update(headers=parsed.headers, mapping=guess_mapping(parsed.headers))
    _renew(imp, rows_read=0, **fields)
    for start in range(0, len(parsed.rows), READ_BATCH):
        batch = parsed.rows[start:start + READ_BATCH]
        CsvImportRow.objects.bulk_create(
            [CsvImportRow(csv_import=imp, line=line, values=[storable_text(c) for c in cells]) for line, cells in batch])
        _renew(imp, rows_read=start + len(batch))
    now = timezone.now()
    if not CsvImport.objects.filter(pk=imp.pk, state=CsvImport.State.READING, claimed_until=imp.claimed_until).update(
            state=CsvImport.State.CLASSIFYING, attempts=1, rows_read=0, claimed_until=now + _claim_ttl(),
            updated_at=now):
        raise _ClaimLost
    CsvUpload.objects.filter(csv_import=imp).delete()
    imp.refresh_from_db()
    return _classify_held(imp)


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


# -- the run: a bulk job ---------------------------------------------------------------------------------------


@transaction.atomic
def csv_import_start(*, imp: CsvImport, user) -> BulkJob:
    imp = CsvImport.objects.select_for_update().get(pk=imp.pk)
    if imp.job_id:
        raise services.WriteRefused("This import has already run.")
    if imp.state != CsvImport.State.READY:
        raise services.WriteRefused("The file is still being read: the import can start once its preview shows.")
    params = {"import_id": imp.pk, "filename": imp.filename}
    if imp.row_count > _inline_rows():
        # A large import is checked against the store again by the worker before its first create (it takes longer
        # than a request may); the total is the preview's until then.
        counts = {a: imp.counts.get(a, 0) for a in CsvImportRow.Action.values}
        total = counts["create"] + counts["update"]
        params["classify"] = True
    else:
        counts = csv_import_classify(imp=imp)  # against the store as it is now, not as it was at the preview
        total = _planned_total(imp)
    if not total:
        raise services.WriteRefused(_nothing_to_import(counts))
    job = BulkJob.objects.create(account=imp.account, created_by=user if user and user.is_authenticated else None,
                                 kind=BulkJob.Kind.CSV_IMPORT, params=params, total=total,
                                 source=SparkWrite.Source.BULK)
    imp.job = job
    imp.save(update_fields=["job", "updated_at"])
    from .tasks import run_bulk_job

    transaction.on_commit(lambda: run_bulk_job.delay(job.pk))
    return job


def _planned_total(imp: CsvImport) -> int:
    return sum(planned_writes(r) for r in imp.rows.filter(
        action__in=[CsvImportRow.Action.CREATE, CsvImportRow.Action.UPDATE]).only("action", "planned"))


def _nothing_to_import(counts: dict) -> str:
    return f"Nothing to import: {counts['invalid']} invalid, {counts['skip']} already in your contacts."


def _heartbeat(job: BulkJob) -> None:
    BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
        claimed_until=timezone.now() + bulk._claim_ttl(), updated_at=timezone.now())


def csv_import_prepare(job: BulkJob) -> int:
    """The creates and updates of the job's rows, in chunks (each one transaction, holding the job's row so a
    cancel waits for it and then takes back what it queued). Safe to run again: rows with their writes are done."""
    imp = CsvImport.objects.get(job=job)
    if job.params.get("classify") and not imp.rows.exclude(write_ids=[]).exists():
        counts = csv_import_classify(imp=imp, progress=lambda _done: _heartbeat(job))
        total = _planned_total(imp)
        now = timezone.now()
        if not total:
            BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.PREPARING).update(
                status=BulkJob.Status.FAILED, failure_reason=_nothing_to_import(counts), claimed_until=None,
                finished_at=now, updated_at=now)
            return 0
        BulkJob.objects.filter(pk=job.pk).update(total=total, updated_at=now)
        job.total = total
    todo = list(imp.rows.filter(action__in=[CsvImportRow.Action.CREATE, CsvImportRow.Action.UPDATE],
                                write_ids=[]).order_by("line").values_list("pk", flat=True))
    created = 0
    for start in range(0, len(todo), bulk.CHUNK):
        with transaction.atomic():
            locked = BulkJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != BulkJob.Status.PREPARING:
                return created  # cancelled
            skipped = []
            rows = list(CsvImportRow.objects.filter(pk__in=todo[start:start + bulk.CHUNK]).order_by("line"))
            for row in rows:
                made, refused = _row_writes(job, row)
                row.write_ids = made
                created += len(made)
                skipped += [{"contact_id": row.contact_id, "name": row.planned.get("attributes", {}).get(
                    "DisplayName", "") or f"line {row.line}", "reason": refused}] * (planned_writes(row) - len(made))
                if refused:
                    row.reason = f"{row.reason}; {refused}".lstrip("; ")
            CsvImportRow.objects.bulk_update(rows, ["write_ids", "contact", "reason"])
            if skipped:
                locked.params = {**locked.params, "skipped": locked.params.get("skipped", []) + skipped}
                locked.save(update_fields=["params"])
        _heartbeat(job)
    return created


def _row_writes(job: BulkJob, row: CsvImportRow) -> tuple[list[int], str]:
    common = {"account": job.account, "user": job.created_by, "source": SparkWrite.Source.BULK, "bulk_job": job}
    if row.action == CsvImportRow.Action.CREATE:
        contact = services.contact_create(attributes=row.planned["attributes"], **common)
        row.contact = contact
        return list(contact.writes.filter(bulk_job=job).values_list("pk", flat=True)), ""
    contact = Contact.objects.filter(pk=row.contact_id, owner=job.account, pending_delete=False).first()
    if contact is None:
        return [], "No longer in your contacts."
    made = []
    try:
        if row.planned.get("changes"):
            write = services.contact_update(contact=contact, changes=row.planned["changes"], **common)
            if write is not None:
                made.append(write.pk)
        for tag in row.planned.get("tags", []):
            write = services.contact_tag_add(contact=contact, tag=tag, **common)
            if write is not None:
                made.append(write.pk)
    except (services.WriteRefused, Contact.DoesNotExist) as exc:
        return made, str(exc) or "No longer in your contacts."
    return made, "" if len(made) == planned_writes(row) else "Already up to date."


bulk.PREPARERS[BulkJob.Kind.CSV_IMPORT] = csv_import_prepare


@transaction.atomic
def csv_import_cancel(*, job: BulkJob, user) -> int | None:
    """Stop the import: nothing more is queued, and queued writes never sent are taken back (a contact only ever
    created here goes). What was sent stays. Returns the writes taken back (None: the job had finished)."""
    locked = BulkJob.objects.select_for_update().get(pk=job.pk)
    if locked.status not in (BulkJob.Status.PREPARING, BulkJob.Status.RUNNING):
        return None
    unsent = SparkWrite.objects.select_for_update().filter(bulk_job=job, status=SparkWrite.Status.QUEUED,
                                                           attempts=0)
    rows = list(unsent.values_list("pk", "contact_id", "kind", "contact_name"))
    SparkWrite.objects.filter(pk__in=[r[0] for r in rows], status=SparkWrite.Status.QUEUED, attempts=0).update(
        status=SparkWrite.Status.CANCELLED, updated_at=timezone.now())
    actor = (user.get_full_name() or user.get_username()) if user else "Background job"
    AuditEvent.objects.bulk_create([AuditEvent(
        actor=user, actor_name=actor, source=SparkWrite.Source.BULK, account=job.account, contact_id=contact_id,
        contact_name=name, write_id=pk, action=kind, outcome=AuditEvent.Outcome.CANCELLED,
        message="The import was cancelled before this was sent") for pk, contact_id, kind, name in rows],
        batch_size=1000)
    never_created = [c for _, c, kind, _ in rows if kind == SparkWrite.Kind.CREATE and c]
    Contact.objects.filter(pk__in=never_created, spark_id__isnull=True).delete()
    others = {c for _, c, kind, _ in rows if kind != SparkWrite.Kind.CREATE and c}
    transaction.on_commit(lambda: [contact_write_state_refresh(c) for c in others])
    BulkJob.objects.filter(pk=job.pk).update(
        status=BulkJob.Status.CANCELLED, claimed_until=None, finished_at=timezone.now(), updated_at=timezone.now(),
        total=SparkWrite.objects.filter(bulk_job=job).exclude(status=SparkWrite.Status.CANCELLED).count()
        + len(locked.params.get("skipped", [])))
    return len(rows)


# -- outcomes -------------------------------------------------------------------------------------------------------

OUTCOME_LABELS = {"created": "Created", "updated": "Filled in", "sending": "Sending", "waiting": "Waiting",
                  "failed": "Refused by flexmls", "invalid": "Invalid", "skipped": "Skipped",
                  "cancelled": "Not sent (cancelled)"}
PROBLEM_OUTCOMES = ("invalid", "failed", "cancelled")


def row_outcome(row: CsvImportRow, writes: dict[int, tuple[str, str]], job: BulkJob | None) -> tuple[str, str]:
    """(outcome, detail) of one row, from its action and its writes' statuses ({id: (status, message)})."""
    if row.action == CsvImportRow.Action.INVALID:
        return "invalid", row.reason
    if row.action == CsvImportRow.Action.SKIP:
        return "skipped", row.reason
    if job is None:
        return "waiting", "Not started"
    if not row.write_ids:
        if job.status == BulkJob.Status.CANCELLED:
            return "cancelled", "Not sent: the import was cancelled"
        return ("skipped", row.reason) if job.status != BulkJob.Status.PREPARING else ("waiting", "Not sent yet")
    statuses = [writes.get(pk, (SparkWrite.Status.DISCARDED, "")) for pk in row.write_ids]
    failed = [m for s, m in statuses if s in (SparkWrite.Status.FAILED, SparkWrite.Status.DISCARDED)]
    if failed:
        return "failed", failed[0] or "flexmls refused it"
    if any(s == SparkWrite.Status.CANCELLED for s, _ in statuses):
        return "cancelled", "Not sent: the import was cancelled"
    if all(s == SparkWrite.Status.CONFIRMED for s, _ in statuses):
        return ("created", "") if row.action == CsvImportRow.Action.CREATE else ("updated", row.reason)
    return "sending", next((m for s, m in statuses if m), "")


def write_statuses(job: BulkJob | None, ids: list[int] | None = None) -> dict[int, tuple[str, str]]:
    if job is None:
        return {}
    qs = SparkWrite.objects.filter(bulk_job=job)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return {pk: (status, message) for pk, status, message in qs.values_list("pk", "status", "spark_message")}


def outcome_counts(imp: CsvImport) -> dict[str, int]:
    job = imp.job
    counts = {k: 0 for k in OUTCOME_LABELS}
    if job is None:
        return counts
    by_action = import_counts_by_action(imp)
    counts["invalid"], counts["skipped"] = by_action["invalid"], by_action["skip"]
    writes = write_statuses(job)
    # Polled every second while the job runs: only the sent rows' actions and write ids are read.
    for action, write_ids in imp.rows.filter(action__in=[CsvImportRow.Action.CREATE, CsvImportRow.Action.UPDATE]) \
            .values_list("action", "write_ids").iterator(5000):
        counts[row_outcome(CsvImportRow(action=action, write_ids=write_ids), writes, job)[0]] += 1
    return counts


def failures_csv_lines(imp: CsvImport) -> Iterator[str]:
    """The rows that did not make it (invalid, refused by flexmls, not sent), as they were in the file, with a
    last column saying why: fix them and import this file again."""
    from .csv_export import _Echo, cell_escape

    writer = csv.writer(_Echo())
    writes = write_statuses(imp.job)
    yield "\ufeff"
    yield writer.writerow([*imp.headers, "Import problem"])
    for row in imp.rows.order_by("line").iterator(2000):
        outcome, detail = row_outcome(row, writes, imp.job)
        if outcome in PROBLEM_OUTCOMES:
            cells = list(row.values) + [""] * (len(imp.headers) - len(row.values))
            yield writer.writerow([cell_escape(c) for c in cells] + [cell_escape(f"Line {row.line}: {detail}")])


def import_counts_by_action(imp: CsvImport) -> dict[str, int]:
    counts = {a: 0 for a in CsvImportRow.Action.values}
    counts.update(dict(imp.rows.values_list("action").annotate(n=Count("pk")).values_list("action", "n")))
    return counts
