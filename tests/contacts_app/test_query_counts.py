"""What the busiest pages cost in queries, with a store that looks like a working one (tags, pending and refused
writes, a sync state, an agent directory, news feeds, shared links); and that the cheaper paths show the same."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from contacts_app import selectors
from contacts_app.models import Contact, ContactActivity, ContactCount
from contacts_app.selectors import ContactQuery
from crm.agents.models import AgentDirectoryEntry, SyncState
from crm.outbox.models import AuditEvent, SparkWrite
from newsfeeds_app.models import NewsFeed, Schedule
from sharing_app.models import SharedLink

pytestmark = pytest.mark.django_db

TAGS = ("Buyer", "Seller", "Investor", "Sphere", "Hot Lead")


def _store(account, n: int = 120) -> list[Contact]:
    contacts = Contact.objects.bulk_create([
        Contact(owner=account, spark_id=f"QC-{account.pk}-{i:04d}", display_name=f"Contact {i:04d}",
                primary_email=f"c{i}@example.com", primary_phone=f"701-555-{i:04d}",
                tags=[TAGS[j % len(TAGS)] for j in range(i % 3)], score=(i * 7) % 50 or None,
                relative_score=((i * 7) % 50) / 49 or None, trend_7d=(i % 9) - 4 if i % 2 else None,
                activity_fetched_at=timezone.now() - dt.timedelta(hours=i % 30) if i % 2 else None,
                attributes={"GivenName": "C", "Notes": "x" * 500}, search_text=f"contact {i:04d} c{i}@example.com")
        for i in range(n)
    ])
    now = timezone.now()
    for i, c in enumerate(contacts[:12]):  # the first page: waiting rows and refused ones
        failed = i % 4 == 3
        w = SparkWrite.objects.create(
            account=account, contact=c, contact_name=c.display_name, kind=SparkWrite.Kind.TAG_ADD,
            payload={"tag": "Hot Lead"}, status=SparkWrite.Status.FAILED if failed else SparkWrite.Status.QUEUED,
            spark_status=400 if failed else None, spark_code=1053 if failed else None,
            spark_message="Tag is not valid" if failed else "")
        AuditEvent.objects.create(actor=account.user, actor_name="Alice", source="page", account=account, contact=c,
                                  contact_name=c.display_name, write=w, action=w.kind)
        Contact.objects.filter(pk=c.pk).update(write_state="failed" if failed else "pending")
    # A create Spark refused: in Needs attention, not in the list or its count.
    ghost = Contact.objects.create(owner=account, display_name="Never Created", write_state="failed")
    SparkWrite.objects.create(account=account, contact=ghost, contact_name=ghost.display_name,
                              kind=SparkWrite.Kind.CREATE, status=SparkWrite.Status.FAILED, spark_status=409,
                              spark_message="Duplicate")
    SyncState.objects.create(account=account, resource="contacts", status="idle", last_success_at=now)
    SyncState.objects.create(account=account, resource="newsfeeds", status="idle", last_success_at=now)
    for i in range(5):
        AgentDirectoryEntry.objects.create(spark_user_id=f"QCDIR{i}", name=f"Colleague {i}",
                                           office_id=account.office_id, office_name="Office")
    feed = NewsFeed.objects.create(account=account, spark_id=f"QCFEED{account.pk}", name="Homes", contact=contacts[3])
    Schedule.objects.create(account=account, feed=feed, frequency="Instant")
    Schedule.objects.create(account=account, frequency="Instant")
    link = SharedLink.objects.create(account=account, spark_id=f"QCLINK{account.pk}", kind="listings",
                                     listing_ids=["L1", "L2"])
    link.contacts.add(contacts[3])
    ContactActivity.objects.create(contact=contacts[3], fetched_at=now - dt.timedelta(hours=3),
                                   daily=[{"date": "2026-01-01", "score": 1}, {"date": "2026-01-02", "score": 3}])
    return [Contact.objects.get(pk=c.pk) for c in contacts]


@pytest.fixture
def alice(link_agent):
    return link_agent("alice")


@pytest.fixture
def client(alice) -> Client:
    c = Client()
    c.force_login(alice.user)
    return c


def test_list_page_and_its_fragment_take_at_most_6_queries(alice, client, django_assert_max_num_queries):
    _store(alice)
    client.get("/contacts/")  # tags into the cache, as on every page after the first
    with django_assert_max_num_queries(6):
        resp = client.get("/contacts/")
    assert resp.status_code == 200 and "120 contacts" in resp.content.decode()
    assert "flexmls refused: Tag is not valid" in resp.content.decode()
    with django_assert_max_num_queries(6):
        assert client.get("/contacts/", {"q": "contact 00", "sort": "-score"}, HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="results").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get("/contacts/", {"page": "3"}).status_code == 200


def test_contact_page_takes_3_queries_for_an_untouched_contact(alice, client, django_assert_max_num_queries):
    """The session's user and link, the contact with all the page asks of it, the page's chrome: nothing for writes,
    history, news feeds or shared links the contact does not have, nor for the agent directory (cached)."""
    contacts = _store(alice)
    ContactActivity.objects.create(contact=contacts[20], fetched_at=timezone.now(),
                                   daily=[{"date": "2026-01-01", "score": 1}, {"date": "2026-01-02", "score": 3}])
    client.get(f"/contacts/{contacts[3].pk}/")
    for c in (contacts[20], contacts[40]):  # fresh activity; none yet (a refresh is queued)
        with django_assert_max_num_queries(3):
            resp = client.get(f"/contacts/{c.pk}/")
        html = resp.content.decode()
        assert resp.status_code == 200 and "Colleague 4 — Office" in html and "No changes made here yet." in html
    assert "daily score, highest 3" in client.get(f"/contacts/{contacts[20].pk}/").content.decode()


def test_contact_page_with_writes_feeds_and_links_takes_at_most_9_queries(alice, client,
                                                                          django_assert_max_num_queries):
    contacts = _store(alice)
    client.get(f"/contacts/{contacts[3].pk}/")
    for c, most in ((contacts[3], 9), (contacts[7], 6), (contacts[0], 6)):  # feeds + link + stale; refused; waiting
        with django_assert_max_num_queries(most):
            resp = client.get(f"/contacts/{c.pk}/")
        assert resp.status_code == 200
    html = client.get(f"/contacts/{contacts[3].pk}/").content.decode()
    assert "Homes" in html and "2 listings" in html and "refreshing…" in html


def test_the_transfer_choices_follow_the_directory(alice, client):
    """The directory's <select> is cached, but a colleague added or gone shows on the next page."""
    contacts = _store(alice, n=20)
    page = f"/contacts/{contacts[15].pk}/"
    assert "Colleague 2 — Office" in client.get(page).content.decode()
    AgentDirectoryEntry.objects.create(spark_user_id="QCDIRNEW", name="Newcomer", office_id=alice.office_id,
                                       office_name="Office")
    AgentDirectoryEntry.objects.filter(spark_user_id="QCDIR2").get().delete()
    for html in (client.get(page).content.decode(), client.get("/contacts/").content.decode()):
        assert '<option value="QCDIRNEW">Newcomer — Office</option>' in html
        assert "Colleague 2" not in html and "Colleague 3 — Office" in html


def test_polled_fragments_are_cheap(alice, client, django_assert_max_num_queries):
    contacts = _store(alice)
    client.get("/contacts/")
    with django_assert_max_num_queries(2):
        assert client.get(f"/contacts/{contacts[0].pk}/row/").status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(f"/contacts/{contacts[7].pk}/row/").status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(f"/contacts/{contacts[0].pk}/live/").status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get("/contacts/meta/", {"shown": 50, "n": 120, "t": int(timezone.now().timestamp())}
                          ).status_code == 200


def test_each_list_row_is_the_row_fragment(alice, client):
    """One source for a row: the list's rows (states read for the page at once) are what the row poll renders."""
    _store(alice)
    page = client.get("/contacts/").content.decode()
    rows = re.findall(r'(<tr class="contact-row[^"]*" data-id="(\d+)".*?</tr>)', page, re.S)
    assert len(rows) == 50
    for html, pk in rows:
        assert client.get(f"/contacts/{pk}/row/").content.decode().strip() == html.strip()


def test_the_kept_count_follows_every_kind_of_change(alice, link_agent):
    bob = link_agent("bob")
    contacts = _store(alice, n=30)

    def kept(account) -> int:
        row = ContactCount.objects.filter(owner=account).first()
        return row.live if row else 0

    def counted(account) -> int:
        return selectors.contact_list(account=account, query=ContactQuery()).count()

    assert kept(alice) == counted(alice) == 30
    Contact.objects.filter(pk__in=[c.pk for c in contacts[:5]]).update(pending_delete=True)
    contacts[5].pending_delete = True
    contacts[5].save()
    assert kept(alice) == counted(alice) == 24
    Contact.objects.filter(pk=contacts[0].pk).update(pending_delete=False, tags=["Buyer"])  # back: 25
    Contact.objects.filter(pk=contacts[1].pk).delete()  # was waiting to be deleted: still 25
    Contact.objects.filter(pk=contacts[20].pk).delete()
    Contact.objects.filter(pk=contacts[6].pk).update(spark_id=None, write_state="failed")
    assert kept(alice) == counted(alice) == 23
    Contact.objects.filter(pk__in=[c.pk for c in contacts[10:15]]).update(owner=bob)
    assert (kept(alice), kept(bob)) == (counted(alice), counted(bob)) == (18, 5)
    Contact.objects.filter(owner=bob).delete()
    assert kept(bob) == 0
    assert selectors.contact_list_count(account=alice, query=ContactQuery()) == counted(alice)
    assert selectors.contact_list_count(account=alice, query=ContactQuery(tag="Buyer")) is None


def test_a_deep_page_shows_the_rows_the_offset_would(alice):
    _store(alice, n=1200)
    with connection.cursor() as cur:
        cur.execute("ANALYZE contacts_app_contact")
    for sort in ("name", "-score", "-trend", "trend", "-modified"):
        query = ContactQuery(sort=sort)
        plain = selectors.contact_list(account=alice, query=query)
        rows = selectors.contact_rows(account=alice, query=query)
        for bottom in (0, 550, 1150):
            assert [c.pk for c in rows[bottom:bottom + 50]] == [c.pk for c in plain[bottom:bottom + 50]]


def test_a_stale_contact_asks_for_its_activity_once(alice, client, monkeypatch):
    from contacts_app import tasks

    queued = []
    monkeypatch.setattr(tasks.refresh_activity, "delay", lambda pk: queued.append(pk))
    contacts = _store(alice, n=10)
    for _ in range(3):
        assert "refreshing…" in client.get(f"/contacts/{contacts[3].pk}/").content.decode()
    assert queued == [contacts[3].pk]
