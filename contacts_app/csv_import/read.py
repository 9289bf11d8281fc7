"""Reading the file: its encoding and delimiter, its rows (inline, or by a worker for a large file)."""

from __future__ import annotations

import codecs
import csv
import io
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.agents.models import SparkAccount
from crm.safeinput import storable_text

from ..csv_models import CsvImport, CsvImportRow, CsvUpload
from .claims import _claim, _claim_ttl, _ClaimLost, _queue, _refuse, _renew
from .classify import _classify_held, csv_import_classify
from .fields import _GUESS, CsvRefused, _norm, guess_mapping

log = logging.getLogger(__name__)


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
