"""CSV in and out: reading files (encodings, delimiters, bad input), the mapping guesses, row validation, the
duplicate matcher, the import's preparation and cancel, and the export (escaping, streaming, audit)."""

from __future__ import annotations

import codecs
import csv
import io

import pytest
from django.test import Client

from contacts_app import csv_export, csv_import
from contacts_app.csv_import import CsvRefused, csv_parse, guess_mapping, row_attributes
from contacts_app.csv_models import CsvImport
from contacts_app.duplicates import DuplicateIndex, phone_key
from contacts_app.models import Contact
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue()


# -- reading the file ------------------------------------------------------------------------------------------------


def test_utf8_with_and_without_bom_and_cp1252_semicolons_read_the_same():
    text = _csv([["First Name", "Last Name", "E-mail Address"], ["Zoë", "Müller", "zoe@example.com"]])
    for data in (text.encode(), codecs.BOM_UTF8 + text.encode()):
        parsed = csv_parse(data)
        assert parsed.headers == ["First Name", "Last Name", "E-mail Address"]
        assert parsed.rows[0][1] == ["Zoë", "Müller", "zoe@example.com"]
    excel = _csv([["First Name", "Last Name", "Notes"], ["Zoë", "Müller", "café — “quoted”"]], ";").encode("cp1252")
    parsed = csv_parse(excel)
    assert parsed.delimiter == ";"
    assert parsed.rows[0][1] == ["Zoë", "Müller", "café — “quoted”"]


def test_quoted_newlines_and_blank_lines():
    parsed = csv_parse(b'Name,Notes\r\n"Ann","line one\nline two"\r\n\r\n"Bob",x\r\n')
    assert [cells for _, cells in parsed.rows] == [["Ann", "line one\nline two"], ["Bob", "x"]]
    assert [line for line, _ in parsed.rows] == [3, 5]


@pytest.mark.parametrize("data,message", [
    (b"", "The file is empty."),
    (b"\xef\xbb\xbf \r\n", "The file is empty."),
    (b"Name,Email\r\n", "a header row but no contacts"),
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "Excel workbook"),
    (bytes(range(256)) * 20, "not a CSV file"),
    (b"Name,Email,name\r\nAnn,a@x.com,A\r\n", "appears twice"),
])
def test_bad_files_say_what_is_wrong(data, message):
    with pytest.raises(CsvRefused, match=message):
        csv_parse(data)


def test_a_one_megabyte_cell_is_refused_with_the_line():
    data = ("Name,Notes\r\nAnn,short\r\nBob," + "x" * 1_048_576 + "\r\n").encode()
    with pytest.raises(CsvRefused, match="Line 3 has a cell of more than"):
        csv_parse(data)


def test_too_large_and_too_many_rows():
    with pytest.raises(CsvRefused, match="at most 1 MB"):
        csv_parse(b"Name\r\n" + b"a\r\n" * 600_000, max_bytes=1_048_576)
    with pytest.raises(CsvRefused, match="more than 3 contacts"):
        csv_parse(b"Name\r\na\r\nb\r\nc\r\nd\r\n", max_rows=3)


# -- mapping and rows ---------------------------------------------------------------------------------------------


def test_mapping_guesses_the_usual_headers():
    outlook = ["Title", "First Name", "Middle Name", "Last Name", "Company", "Job Title", "Business Street",
               "Home Phone", "Mobile Phone", "E-mail Address", "E-mail 2 Address", "Categories", "Notes", "Birthday"]
    guessed = {outlook[int(i)]: f for i, f in guess_mapping(outlook).items()}
    assert guessed == {"Title": "Salutation", "First Name": "GivenName", "Middle Name": "MiddleName",
                       "Last Name": "FamilyName", "Company": "Organization", "Job Title": "Position",
                       "Business Street": "WorkStreetAddress", "Home Phone": "HomePhoneNumber",
                       "Mobile Phone": "MobilePhoneNumber", "E-mail Address": "PrimaryEmail",
                       "E-mail 2 Address": "SecondaryEmails", "Categories": "Tags", "Notes": "Note",
                       "Birthday": "Birthday"}
    google = ["Name", "Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value", "Group Membership"]
    assert list(guess_mapping(google).values()) == ["DisplayName", "GivenName", "FamilyName", "PrimaryEmail",
                                                    "PrimaryPhoneNumber", "Tags"]
    fub = ["First Name", "Last Name", "Email 1", "Email 2", "Phone 1", "Phone 2", "Tags", "Stage"]
    assert list(guess_mapping(fub).values()) == ["GivenName", "FamilyName", "PrimaryEmail", "SecondaryEmails",
                                                 "PrimaryPhoneNumber", "OtherPhoneNumber", "Tags", "Status"]
    # The export's own headers come back to their fields.
    assert set(guess_mapping(csv_export.COLUMNS).values()) >= {"DisplayName", "PrimaryEmail", "Tags", "Note"}


def test_row_validation_reasons():
    headers = ["Name", "Email", "Notes", "Tags"]
    mapping = {"0": "DisplayName", "1": "PrimaryEmail", "2": "Note", "3": "Tags"}
    attrs, problems = row_attributes(["Ann", "ann@example.com", "hi", "Buyers; 2024"], headers, mapping, ["Imported"])
    assert problems == []
    assert attrs == {"DisplayName": "Ann", "PrimaryEmail": "ann@example.com", "Note": "hi",
                     "Tags": ["Buyers", "2024", "Imported"]}
    assert row_attributes(["", "x@example.com", "", ""], headers, mapping, [])[1] == [
        "DisplayName missing: no name in this row"]
    assert "bad e-mail “ann@”" in row_attributes(["Ann", "ann@", "", ""], headers, mapping, [])[1]
    assert "Display name is 76 characters; flexmls takes at most 75" in \
        row_attributes(["A" * 76, "", "", ""], headers, mapping, [])[1]
    assert "Note is 10,001 characters" in row_attributes(["Ann", "", "n" * 10_001, ""], headers, mapping, [])[1][0]
    formula = row_attributes(['=HYPERLINK("http://evil","x")', "", "", ""], headers, mapping, [])[1]
    assert formula and "spreadsheet formula" in formula[0]
    # A phone number or a note starting with a dash is not a formula; the export's escaping comes back off.
    attrs, problems = row_attributes(["Ann", "", "- call back", "'+1 tag"], headers, mapping, [])
    assert problems == [] and attrs["Note"] == "- call back" and attrs["Tags"] == ["+1 tag"]


def test_first_and_last_name_make_the_display_name():
    attrs, problems = row_attributes(["Ann", "Lee"], ["First", "Last"], {"0": "GivenName", "1": "FamilyName"}, [])
    assert problems == [] and attrs["DisplayName"] == "Ann Lee"


def test_duplicate_matcher():
    index = DuplicateIndex()
    index.add(1, emails=["Ann@Example.com"], phones=["+1 (512) 555-0100"])
    assert index.find(emails=["ann@example.COM "]).key == 1
    assert index.find(phones=["512.555.0100"]).key == 1
    assert index.find(phones=["1-512-555-0100"]).how == "phone 1-512-555-0100"
    assert index.find(emails=["bob@example.com"], phones=["555-01"]) is None
    assert phone_key("ext 12") == ""


# -- the import, against the store --------------------------------------------------------------------------------


@pytest.fixture
def alice(link_agent):
    return link_agent("alice")


def _contact(account, name, email="", phone="", **kw):
    c = Contact(owner=account, display_name=name, primary_email=email, primary_phone=phone, spark_id=f"S-{name}",
                **kw)
    c.refresh_search_text()
    c.save()
    return c


def _upload(account, rows, **kw) -> CsvImport:
    return csv_import.csv_import_create(account=account, user=account.user, filename="book.csv",
                                        data=_csv(rows).encode(), **kw)


@pytest.mark.django_db
def test_preview_counts_duplicates_in_the_store_and_in_the_file(alice):
    _contact(alice, "Ann Old", "ann@example.com")
    _contact(alice, "Bob Old", phone="(512) 555-0100", attributes={"Note": ""})
    imp = _upload(alice, [["First Name", "Last Name", "Email", "Phone", "Company"],
                          ["Ann", "New", "ANN@example.com", "", "Acme"],
                          ["Bob", "New", "", "+1 512 555 0100", "Bobco"],
                          ["Cat", "New", "cat@example.com", "", ""],
                          ["Cat", "Again", "cat@example.com", "", ""],
                          ["", "", "nobody@example.com", "", ""],
                          ["Dan", "New", "dan@", "", ""]])
    assert imp.counts == {"create": 1, "update": 0, "skip": 3, "invalid": 2}
    reasons = dict(imp.rows.values_list("line", "reason"))
    assert reasons[2] == "Already in your contacts as Ann Old (e-mail ANN@example.com)"
    assert reasons[5] == "Same e-mail cat@example.com as line 4 of this file"
    imp.on_duplicate = CsvImport.OnDuplicate.FILL
    imp.save()
    counts = csv_import.csv_import_classify(imp=imp)
    assert counts == {"create": 1, "update": 2, "skip": 1, "invalid": 2}
    bob_row = imp.rows.get(line=3)
    assert bob_row.planned == {"changes": {"GivenName": "Bob", "FamilyName": "New", "Organization": "Bobco"},
                               "tags": []}


@pytest.mark.django_db
def test_prepare_queues_one_create_per_row_and_cancel_takes_back_the_unsent(alice, django_capture_on_commit_callbacks):
    imp = _upload(alice, [["Name", "Email"], *[[f"Person {i}", f"p{i}@example.com"] for i in range(5)]])
    imp.tags = ["Open house"]
    imp.save()
    job = csv_import.csv_import_start(imp=imp, user=alice.user)
    assert job.kind == BulkJob.Kind.CSV_IMPORT and job.total == 5
    job.status = BulkJob.Status.PREPARING
    assert csv_import.csv_import_prepare(job) == 5
    writes = SparkWrite.objects.filter(bulk_job=job, kind=SparkWrite.Kind.CREATE)
    assert writes.count() == 5
    assert writes.first().payload["attributes"]["Tags"] == ["Open house"]
    assert all(len(r.write_ids) == 1 for r in imp.rows.all())
    assert csv_import.csv_import_prepare(job) == 0  # again: nothing twice
    # One went out already; cancel takes back the other four and their never-created contacts.
    sent = writes.order_by("pk").first()
    SparkWrite.objects.filter(pk=sent.pk).update(status=SparkWrite.Status.CONFIRMED)
    assert csv_import.csv_import_cancel(job=job, user=alice.user) == 4
    job.refresh_from_db()
    assert job.status == BulkJob.Status.CANCELLED and job.total == 1
    assert Contact.objects.filter(owner=alice).count() == 1
    counts = csv_import.outcome_counts(CsvImport.objects.get(pk=imp.pk))
    assert counts["created"] == 1 and counts["cancelled"] == 4
    failures = "".join(csv_import.failures_csv_lines(CsvImport.objects.get(pk=imp.pk)))
    assert failures.count("Not sent: the import was cancelled") == 4


@pytest.mark.django_db
def test_import_pages_refuse_bad_files_with_a_message_never_a_500(alice):
    client = Client()
    client.force_login(alice.user)
    for name, data, message in [
        ("empty.csv", b"", "The file is empty."),
        ("head.csv", b"Name,Email\r\n", "a header row but no contacts"),
        ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "not a CSV file"),
        ("dup.csv", b"Email,email\r\na,b\r\n", "appears twice"),
    ]:
        resp = client.post("/contacts/import/", {"file": io.BytesIO(data) if data else _named(data, name)})
        assert resp.status_code == 422, name
        assert message in resp.content.decode(), name
    resp = client.post("/contacts/import/", {"file": _named(b"Name,Email\r\nAnn,ann@example.com\r\n", "ok.csv")})
    assert resp.status_code == 302
    imp = CsvImport.objects.get(account=alice)
    page = client.get(resp["Location"]).content.decode()
    assert "1 to create" in page
    # Another agent's import is not found.
    bob = Client()
    bob.force_login(_other_user())
    assert bob.get(f"/contacts/import/{imp.pk}/").status_code in (403, 404)


def _named(data: bytes, name: str):
    f = io.BytesIO(data)
    f.name = name
    return f


def _other_user():
    from django.contrib.auth.models import User

    return User.objects.create_user("mallory", password="x")


# -- export -------------------------------------------------------------------------------------------------------


def test_cells_are_escaped_against_formula_injection():
    for bad in ("=HYPERLINK(\"x\")", "+1 512", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_export.cell_escape(bad) == "'" + bad
    assert csv_export.cell_escape("Ann") == "Ann"


@pytest.mark.django_db
def test_export_streams_the_filtered_list_and_is_audited(alice):
    _contact(alice, "Ann", "ann@example.com", tags=["Buyers"], score=5, attributes={"Note": "=cmd|x"})
    _contact(alice, "Bob", "bob@example.com", tags=["Sellers"])
    client = Client()
    client.force_login(alice.user)
    resp = client.get("/contacts/export/?tag=Buyers")
    assert resp.streaming and resp["Content-Type"].startswith("text/csv")
    text = b"".join(resp.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["DisplayName"] for r in rows] == ["Ann"]
    assert rows[0]["Note"] == "'=cmd|x" and rows[0]["Tags"] == "Buyers" and rows[0]["Score"] == "5"
    event = AuditEvent.objects.get(action="export_csv")
    assert event.actor == alice.user and event.after == {"filter": {"tag": "Buyers"}, "format": "csv", "rows": 1}
    vcard = client.post("/contacts/bulk/", {"action": "export_vcard", "ids": str(Contact.objects.get(
        display_name="Bob").pk), "query": ""})
    body = b"".join(vcard.streaming_content).decode()
    assert body.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob\r\n") and "EMAIL;TYPE=INTERNET,PREF:bob@example.com" in body
    assert AuditEvent.objects.get(action="export_vcard").after["rows"] == 1


@pytest.mark.django_db
def test_a_broker_exports_an_agents_book_from_the_admin(alice, link_agent):
    from tests.contacts_app.test_admin import make_broker

    bob = link_agent("bob")
    _contact(alice, "Ann", "ann@example.com")
    _contact(bob, "Bob's", "bobs@example.com")
    client = Client()
    client.force_login(make_broker("brenda", mls_wide=True))
    resp = client.post("/admin/agents/agent/", {"action": "export_books_csv",
                                                       "_selected_action": [str(alice.user.pk)]})
    assert resp.status_code == 200 and resp.streaming
    rows = list(csv.DictReader(io.StringIO(b"".join(resp.streaming_content).decode("utf-8-sig"))))
    assert [(r["Agent"], r["DisplayName"]) for r in rows] == [(alice.name, "Ann")]
    event = AuditEvent.objects.get(action="export_csv")
    assert event.source == SparkWrite.Source.ADMIN and event.account == alice and event.after["rows"] == 1
