"""A large CSV file is read and previewed by a real worker while the page follows; nothing waits in the request.

The inline limits are lowered here so a few hundred rows count as "large" (the real ones are 128 KB / 2,000 rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone

from contacts_app.csv_models import CsvImport, CsvUpload
from contacts_app.models import Contact
from crm.outbox.models import BulkJob, SparkWrite
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "import-detail"}


@pytest.fixture
def small_inline(settings):
    settings.CSV_IMPORT_INLINE_BYTES = 1024
    settings.CSV_IMPORT_INLINE_ROWS = 10


@pytest.fixture
def alice_client(link_agent):
    alice = link_agent("alice")
    client = Client()
    client.force_login(alice.user)
    return alice, client


def _file(rows: int, *, extra: list[list[str]] = ()) -> io.BytesIO:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["First Name", "Last Name", "E-mail Address"])
    for i in range(rows):
        writer.writerow([f"Big{i:04d}", "Import", f"big{i}@example.com"])
    writer.writerows(extra)
    f = io.BytesIO(out.getvalue().encode())
    f.name = "big.csv"
    return f


def _poll(client, url: str, text: str, timeout: float = 60) -> str:
    """What the page's own poll does: GET the fragment until it shows `text`."""
    def shown():
        page = client.get(url, **HTMX).content.decode()
        return page if text in page else ""
    return wait_for(shown, timeout=timeout, interval=0.3, message=f"“{text}” on the import page")


def test_a_large_file_is_read_then_previewed_then_run_by_a_worker(small_inline, alice_client, start_worker):
    alice, client = alice_client
    Contact.objects.create(owner=alice, display_name="Already Here", primary_email="big7@example.com", spark_id="S-1")
    resp = client.post("/contacts/import/", {"file": _file(300)})
    assert resp.status_code == 302  # at once: the rows are read by a worker
    url = resp["Location"]
    page = client.get(url).content.decode()
    assert "Reading the file: 0 rows so far" in page
    assert 'hx-trigger="every 1s"' in page  # the page follows the worker
    # Asking for a preview or a run before the file is read says so, never a 500.
    refused = client.post(url, {"do": "run", "col_0": "GivenName"})
    assert refused.status_code == 422 and "still being read" in refused.content.decode()

    start_worker()
    page = _poll(client, url, "to create")
    assert "299 to create" in page and "1 duplicate skipped" in page
    assert 'hx-trigger="every 1s"' not in page  # ready: the poll stops
    imp = CsvImport.objects.get(account=alice)
    assert imp.state == CsvImport.State.READY and imp.row_count == 300
    assert not CsvUpload.objects.filter(csv_import=imp).exists()  # the bytes are not kept once read

    # A preview of a large import is the worker's too; the form shows it when done.
    mapping = {"col_0": "GivenName", "col_1": "FamilyName", "col_2": "PrimaryEmail", "tags": "Big import"}
    page = client.post(url, {**mapping, "do": "preview"}).content.decode()
    assert "Checking each row against your contacts" in page
    _poll(client, url, "299 to create")

    # The run: the worker checks the rows against the store again before its first create.
    Contact.objects.create(owner=alice, display_name="Arrived Since", primary_email="big8@example.com", spark_id="S-2")
    resp = client.post(url, {**mapping, "do": "run"})
    assert resp.status_code == 302
    job = BulkJob.objects.get(account=alice, kind=BulkJob.Kind.CSV_IMPORT)
    wait_for(lambda: BulkJob.objects.get(pk=job.pk).status != BulkJob.Status.PREPARING, timeout=60,
             message="the import's preparation")
    job.refresh_from_db()
    assert job.total == 298
    assert SparkWrite.objects.filter(bulk_job=job, kind=SparkWrite.Kind.CREATE).count() == 298


def test_bad_files_and_stopped_workers_end_with_a_message_on_the_page(small_inline, alice_client,
                                                                              start_worker):
    alice, client = alice_client
    dup = io.BytesIO(b"Email,email\r\n" + b"a@example.com,b\r\n" * 200)
    dup.name = "dup.csv"
    resp = client.post("/contacts/import/", {"file": dup})
    assert resp.status_code == 422 and "appears twice" in resp.content.decode()

    huge_cell = [["Deep", "Down", "x" * (1024 * 1024 + 10)]]
    resp = client.post("/contacts/import/", {"file": _file(200, extra=huge_cell)})
    assert resp.status_code == 302
    start_worker()
    page = _poll(client, resp["Location"], "Upload another file")
    assert "Line 202 has a cell of more than" in page
    refused = CsvImport.objects.get(account=alice)
    assert refused.state == CsvImport.State.REFUSED

    # A read whose worker stopped is taken again by the page's poll, and given up after three tries.
    url = client.post("/contacts/import/", {"file": _file(100)})["Location"]
    imp = CsvImport.objects.exclude(pk=refused.pk).get(account=alice)
    # As a worker killed mid-read leaves it: claimed, the claim run out, one try spent.
    wait_for(lambda: CsvImport.objects.get(pk=imp.pk).state == CsvImport.State.READY, timeout=60,
             message="the file read")
    CsvImport.objects.filter(pk=imp.pk).update(state=CsvImport.State.READING, attempts=1,
                                               claimed_until=timezone.now() - dt.timedelta(seconds=1))
    CsvUpload.objects.get_or_create(csv_import=imp, defaults={"data": _file(100).getvalue()})
    _poll(client, url, "100 to create")  # the page's poll handed it to the worker again

    url2 = client.post("/contacts/import/", {"file": _file(50)})["Location"]
    second = CsvImport.objects.exclude(pk__in=[imp.pk, refused.pk]).get(account=alice)
    wait_for(lambda: CsvImport.objects.get(pk=second.pk).state == CsvImport.State.READY, timeout=60,
             message="the second file read")
    CsvImport.objects.filter(pk=second.pk).update(state=CsvImport.State.CLASSIFYING, attempts=3,
                                                  claimed_until=timezone.now() - dt.timedelta(seconds=1))
    page = client.get(url2).content.decode()
    assert "the worker reading it stopped 3 times" in page
    assert 'hx-trigger="every 1s"' not in page
