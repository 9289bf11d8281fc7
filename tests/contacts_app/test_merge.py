"""Merging two duplicates against a real worker, PostgreSQL and sparksim: the survivor holds the chosen fields,
the united tags, the joined notes and the other's e-mails in flexmls, and the other is gone; an undo within the
window sends nothing; a refused PUT deletes nothing and the agent reads why; another agent's contact is a 404."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils.html import escape

from contacts_app import merge
from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.outbox.models import AuditEvent, SparkWrite
from crm.outbox.worker import outbox_sweep
from newsfeeds_app.models import NewsFeed, Schedule
from sharing_app.models import SharedLink
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def sim_contact(sim, spark_id):
    return sim.control("GET", f"/_sim/contacts/{spark_id}").json()


def settled(write):
    return lambda: not SparkWrite.objects.filter(pk=write.pk, status__in=SparkWrite.OPEN).exists()


@pytest.fixture
def alice(fresh_sim, link_agent):
    account = link_agent("alice")
    contacts_sync(account=account, full=True)
    return account


def client_for(account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def pair(sim, account) -> tuple[Contact, Contact]:
    """Two of the agent's contacts made into duplicates in flexmls, then synced: the second has the first's e-mail
    in capitals, its own tags, a note, a secondary e-mail, and another city."""
    a, b = Contact.objects.filter(owner=account).exclude(spark_id=None).exclude(primary_email="").order_by("pk")[:2]
    sim.control("PATCH", f"/_sim/contacts/{a.spark_id}",
                json={"Tags": ["Buyer"], "Note": "Met at the open house.", "HomeLocality": "Fargo",
                      "SecondaryEmails": []})
    sim.control("PATCH", f"/_sim/contacts/{b.spark_id}",
                json={"PrimaryEmail": a.primary_email.upper(), "Tags": ["buyer", "Lake Cabin"],
                      "Note": "Wants a dock.", "HomeLocality": "West Fargo",
                      "SecondaryEmails": ["second@example.org", a.primary_email]})
    contacts_sync(account=account, full=True)
    return Contact.objects.get(pk=a.pk), Contact.objects.get(pk=b.pk)


def test_merge_puts_the_survivor_then_deletes_the_other(fresh_sim, alice, celery_worker_proc):
    a, b = pair(fresh_sim, alice)
    client = client_for(alice)
    page = client.get(f"/contacts/merge/?a={a.pk}&b={b.pk}")
    assert page.status_code == 200
    body = page.content.decode()
    assert "West Fargo" in body and 'name="keep_HomeLocality"' in body
    assert "Lake Cabin" in body  # tags carried over, shown before anything is sent

    # The blast radius, from the store: the other's news feed with its schedule, a shared link naming them.
    feed = NewsFeed.objects.create(account=alice, spark_id="F-merge-1", name="Lake homes", contact=b)
    Schedule.objects.create(account=alice, feed=feed, frequency="Scheduled")
    SharedLink.objects.create(account=alice, kind="search", search_name="Cabins by the lake").contacts.add(b)
    radius = client.get(f"/contacts/merge/?a={a.pk}&b={b.pk}").content.decode()
    assert "Lake homes" in radius and "Scheduled schedule" in radius and "Cabins by the lake" in radius

    seq = fresh_sim.last_seq()
    resp = client.post("/contacts/merge/", {"a": a.pk, "b": b.pk, "survivor": a.pk, "keep_HomeLocality": "other"})
    assert resp.status_code == 302
    write = SparkWrite.objects.get(kind="merge")
    assert Contact.objects.get(pk=b.pk).pending_delete  # hidden from the list at once
    wait_for(settled(write), timeout=40, message="the merge to go out")
    write.refresh_from_db()
    assert write.status == "confirmed", write.spark_message

    kept = sim_contact(fresh_sim, a.spark_id)
    assert kept["HomeLocality"] == "West Fargo"
    assert {t.lower() for t in kept["Tags"]} == {"buyer", "lake cabin"}
    assert "Met at the open house." in kept["Note"] and "Wants a dock." in kept["Note"]
    assert [e.lower() for e in kept["SecondaryEmails"]] == ["second@example.org"]  # never its own primary again
    assert fresh_sim.http.get(f"{fresh_sim.url}/_sim/contacts/{b.spark_id}").status_code == 404
    methods = [(r["method"], r["path"]) for r in fresh_sim.requests_since(seq) if r["method"] in ("PUT", "DELETE")]
    assert methods == [("PUT", f"/v1/contacts/{a.spark_id}"), ("DELETE", f"/v1/contacts/{b.spark_id}")]
    assert not Contact.objects.filter(pk=b.pk).exists()
    assert Contact.objects.get(pk=a.pk).attributes["HomeLocality"] == "West Fargo"
    event = AuditEvent.objects.get(write=write, action="merge", outcome="pending")
    assert event.before["other"]["spark_id"] == b.spark_id and event.before["survivor"]["HomeLocality"] == "Fargo"
    assert event.after["survivor"]["HomeLocality"] == "West Fargo"
    assert client.get(f"/contacts/merge/{write.pk}/").content.decode().count("done") >= 1
    gone = client.get(f"/contacts/{b.pk}/")  # an old link, or another tab, to the contact merged away
    assert gone.status_code == 404
    assert "was merged into" in gone.content.decode() and f'href="/contacts/{a.pk}/"' in gone.content.decode()


def test_undo_within_the_window_sends_nothing(fresh_sim, alice, celery_worker_proc):
    a, b = pair(fresh_sim, alice)
    seq = fresh_sim.last_seq()
    write = merge.contact_merge(account=alice, user=alice.user, survivor_pk=a.pk, other_pk=b.pk,
                                keep={"HomeLocality": "other"}, undo_s=3)
    resp = client_for(alice).post(f"/contacts/merge/{write.pk}/undo/")
    assert resp.status_code == 302
    time.sleep(4)
    outbox_sweep()
    time.sleep(1)
    assert not [r for r in fresh_sim.requests_since(seq) if r["method"] in ("PUT", "DELETE")]
    assert SparkWrite.objects.get(pk=write.pk).status == "cancelled"
    assert Contact.objects.get(pk=b.pk).pending_delete is False
    assert sim_contact(fresh_sim, a.spark_id)["HomeLocality"] == "Fargo"
    assert sim_contact(fresh_sim, b.spark_id)["HomeLocality"] == "West Fargo"


def test_a_refused_put_deletes_nothing_and_the_agent_sees_why(fresh_sim, alice, celery_worker_proc):
    a, b = pair(fresh_sim, alice)
    write = merge.contact_merge(account=alice, user=alice.user, survivor_pk=a.pk, other_pk=b.pk,
                                keep={"HomeLocality": "other"}, undo_s=1)
    fresh_sim.control("DELETE", f"/_sim/contacts/{a.spark_id}")  # the survivor deleted in flexmls meanwhile
    wait_for(settled(write), timeout=40, message="the merge to settle")
    write.refresh_from_db()
    assert write.status == "failed" and write.spark_message
    assert fresh_sim.http.get(f"{fresh_sim.url}/_sim/contacts/{b.spark_id}").status_code == 200  # not deleted
    assert Contact.objects.get(pk=b.pk).pending_delete is False
    page = client_for(alice).get(f"/contacts/{a.pk}/").content.decode()
    assert "Merge" in page and escape(write.spark_message) in page


def test_limits_are_checked_before_anything_is_queued(fresh_sim, alice):
    a, b = pair(fresh_sim, alice)
    Contact.objects.filter(pk=b.pk).update(attributes={**b.attributes, "Note": "x" * 9_990})
    resp = client_for(alice).post("/contacts/merge/", {"a": a.pk, "b": b.pk, "survivor": a.pk})
    assert resp.status_code == 422
    assert "flexmls allows at most 10,000" in resp.content.decode()
    assert not SparkWrite.objects.filter(kind="merge").exists()
    assert Contact.objects.get(pk=b.pk).pending_delete is False


def test_another_agents_contact_is_a_404(fresh_sim, alice, link_agent):
    bob = link_agent("bob")
    contacts_sync(account=bob, full=True)
    mine = Contact.objects.filter(owner=alice).first()
    theirs = Contact.objects.filter(owner=bob).first()
    client = client_for(alice)
    assert client.get(f"/contacts/merge/?a={mine.pk}&b={theirs.pk}").status_code == 404
    assert client.post("/contacts/merge/", {"a": mine.pk, "b": theirs.pk, "survivor": mine.pk}).status_code == 404
    assert client.post("/contacts/merge/", {"a": mine.pk, "b": theirs.pk, "survivor": theirs.pk}).status_code == 404
    assert client.get("/contacts/merge/?a=x&b=1").status_code == 404
    assert client.get("/contacts/merge/?a=1&b=%00").status_code in (400, 404)  # never a 500
    assert not SparkWrite.objects.filter(kind="merge").exists()


def test_the_handler_runs_again_safely_after_an_unknown_outcome(fresh_sim, alice):
    """An earlier attempt's PUT and DELETE landed but their answers were lost: running it again sends the same
    values and takes the DELETE's 404 as done."""
    from crm.agents.spark import client_for_account

    a, b = pair(fresh_sim, alice)
    write = merge.contact_merge(account=alice, user=alice.user, survivor_pk=a.pk, other_pk=b.pk,
                                keep={"HomeLocality": "other"}, undo_s=600)  # no worker: it is delivered by hand
    write = SparkWrite.objects.select_related("contact").get(pk=write.pk)
    client = client_for_account(alice, max_retries=0)
    merge.deliver_merge(client, write)
    assert fresh_sim.http.get(f"{fresh_sim.url}/_sim/contacts/{b.spark_id}").status_code == 404
    write.contact = Contact.objects.get(pk=a.pk)
    merge.deliver_merge(client, write)  # again: no error, same result
    kept = sim_contact(fresh_sim, a.spark_id)
    assert kept["HomeLocality"] == "West Fargo" and {t.lower() for t in kept["Tags"]} == {"buyer", "lake cabin"}


def test_news_feeds_and_schedules_are_carried_over_to_the_survivor(fresh_sim, alice, celery_worker_proc):
    """flexmls deletes the other's feeds with it: before the DELETE, a feed on a search the survivor does not follow
    is recreated for the survivor with its own schedule; one the survivor follows already keeps the survivor's own
    schedule (no second feed); a feed turned off is listed, not recreated; the other's default schedule is
    recreated for a survivor that has none. The preview says so first, the merge's page after, and the store (the
    survivor's page) shows the carried feed without a full sync."""
    from crm.agents.spark import client_for_account
    from crm.spark.resources import newsfeeds as nf
    from crm.spark.resources.savedsearches import saved_search_list

    a, b = pair(fresh_sim, alice)
    api = client_for_account(alice, max_retries=0)
    followed = {f["SavedSearchId"] for f in fresh_sim.control("GET", "/_sim/newsfeeds").json()["newsfeeds"]
                if f["ContactId"] in (a.spark_id, b.spark_id)}
    searches = [s.id for s in saved_search_list(api) if s.id not in followed][:3]
    assert len(searches) == 3
    lake = nf.newsfeed_create(api, {"Name": "Lake homes", "Subscription": {"Id": searches[0]}}, contact_id=b.spark_id)
    nf.feed_schedule_create(api, lake, {"Frequency": "Scheduled", "DaysOfWeek": ["Monday"], "HoursOfDay": [9]},
                            contact_id=b.spark_id)
    both = nf.newsfeed_create(api, {"Name": "Condos (theirs)", "Subscription": {"Id": searches[1]}},
                              contact_id=b.spark_id)
    nf.feed_schedule_create(api, both, {"Frequency": "Instant"}, contact_id=b.spark_id)
    off = nf.newsfeed_create(api, {"Name": "Old search", "Subscription": {"Id": searches[2]}}, contact_id=b.spark_id)
    nf.newsfeed_update(api, off, {"Active": False})
    their_default = nf.default_schedule_list(api, contact_id=b.spark_id)[0]  # made by Spark with their first feed
    nf.default_schedule_update(api, their_default.id, {"Frequency": "Scheduled", "DaysOfWeek": ["Tuesday"],
                                                       "HoursOfDay": [7]}, contact_id=b.spark_id)
    mine = nf.newsfeed_create(api, {"Name": "Condos", "Subscription": {"Id": searches[1]}}, contact_id=a.spark_id)
    nf.feed_schedule_create(api, mine, {"Frequency": "Scheduled", "DaysOfWeek": ["Friday"], "HoursOfDay": [17]},
                            contact_id=a.spark_id)
    nf.default_schedules_delete_all(api, contact_id=a.spark_id)  # the survivor has no default of its own
    from newsfeeds_app.sync import contact_newsfeeds_refresh

    for contact in (a, b):  # the store knows both contacts' feeds
        contact_newsfeeds_refresh(account=alice, contact_spark_id=contact.spark_id)

    client = client_for(alice)
    preview = client.get(f"/contacts/merge/?a={a.pk}&b={b.pk}&survivor={a.pk}").content.decode()
    assert escape(f"“Lake homes” (Scheduled schedule) — recreated for {a.display_name} with its schedule") \
        in preview.replace("</span>", "").replace('<span class="ok">', "")
    assert "already follows this search" in preview and "its own schedule is kept" in preview
    assert "lost: it is turned off" in preview

    resp = client.post("/contacts/merge/", {"a": a.pk, "b": b.pk, "survivor": a.pk})
    write = SparkWrite.objects.get(kind="merge")
    assert resp.status_code == 302
    wait_for(settled(write), timeout=60, message="the merge to go out")
    write.refresh_from_db()
    assert write.status == "confirmed", write.spark_message

    feeds = fresh_sim.control("GET", "/_sim/newsfeeds").json()["newsfeeds"]
    assert not [f for f in feeds if f["ContactId"] == b.spark_id]  # deleted with the contact
    kept = {f["SavedSearchId"]: f for f in feeds if f["ContactId"] == a.spark_id}
    assert kept[searches[0]]["Name"] == "Lake homes"
    assert kept[searches[1]]["Id"] == mine  # not a second feed on the same search
    assert searches[2] not in kept  # turned off: not recreated
    schedules = fresh_sim.control("GET", "/_sim/schedules").json()["schedules"]
    on = {s["NewsfeedId"]: s for s in schedules if s.get("NewsfeedId")}
    assert on[kept[searches[0]]["Id"]]["DaysOfWeek"] == ["Monday"] and on[kept[searches[0]]["Id"]]["HoursOfDay"] == [9]
    assert on[mine]["DaysOfWeek"] == ["Friday"]  # the survivor's own schedule won
    default = [s for s in schedules if not s.get("NewsfeedId") and s["Subject"] == ["contact", a.spark_id]]
    assert [(d["Frequency"], d["DaysOfWeek"]) for d in default] == [("Scheduled", ["Tuesday"])]

    rows = {r["what"]: r for r in write.payload["carried"]}
    assert rows["“Old search” news feed"]["ok"] is False
    assert all(r["ok"] for what, r in rows.items() if what != "“Old search” news feed"), rows
    status = client.get(f"/contacts/merge/{write.pk}/").content.decode()
    assert "Lake homes" in status and "it was turned off" in status

    # The store follows without waiting for the beat's full sync: the carried feed is the survivor's.
    wait_for(lambda: NewsFeed.objects.filter(contact=a, name="Lake homes", schedule__frequency="Scheduled").exists(),
             timeout=30, message="the carried feed in the store")
    assert not NewsFeed.objects.filter(contact_spark_id=b.spark_id).exists()
    assert "Lake homes" in client.get(f"/contacts/{a.pk}/").content.decode()

    # Run again (an unknown outcome): nothing is created twice.
    before = len(fresh_sim.control("GET", "/_sim/newsfeeds").json()["newsfeeds"])
    write.contact = Contact.objects.get(pk=a.pk)
    merge.deliver_merge(api, write)
    assert len(fresh_sim.control("GET", "/_sim/newsfeeds").json()["newsfeeds"]) == before


def test_merge_with_from_a_contacts_page_finds_the_other_by_search(fresh_sim, alice):
    """For duplicates the finder cannot see: "Merge with…" on the contact's page searches the agent's own contacts
    (never the contact itself, never another agent's), and a pick opens the side-by-side merge with this one kept."""
    a, b = Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk")[:2]
    client = client_for(alice)
    assert f"/contacts/{a.pk}/merge-with/" in client.get(f"/contacts/{a.pk}/").content.decode()
    page = client.get(f"/contacts/{a.pk}/merge-with/", {"q": b.display_name}).content.decode()
    assert escape(b.display_name) in page
    assert f"/contacts/merge/?a={a.pk}&amp;b={b.pk}&amp;survivor={a.pk}" in page
    assert f"b={a.pk}&amp;" not in page  # never itself
    fragment = client.get(f"/contacts/{a.pk}/merge-with/", {"q": b.display_name}, HTTP_HX_REQUEST="true")
    assert fragment.content.decode().lstrip().startswith('<div id="merge-with-results">')
    none = client.get(f"/contacts/{a.pk}/merge-with/", {"q": "zzqx-nobody"}).content.decode()
    assert "None of your contacts matches" in none
    assert client.get(f"/contacts/{a.pk}/merge-with/", {"q": "\x00" * 5000}).status_code in (200, 400)
    merge_page = client.get(f"/contacts/merge/?a={a.pk}&b={b.pk}&survivor={a.pk}")
    assert merge_page.status_code == 200 and "Merge two contacts" in merge_page.content.decode()


def test_merge_with_never_shows_another_agents_contacts(fresh_sim, alice, link_agent):
    bob = link_agent("bob")
    contacts_sync(account=bob, full=True)
    mine = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    theirs = Contact.objects.filter(owner=bob).exclude(spark_id=None).first()
    client = client_for(alice)
    assert client.get(f"/contacts/{theirs.pk}/merge-with/").status_code == 404
    page = client.get(f"/contacts/{mine.pk}/merge-with/", {"q": theirs.display_name}).content.decode()
    assert f"b={theirs.pk}&amp;" not in page


def test_the_preview_says_whether_the_other_has_a_portal_account_used_lately(fresh_sim, alice):
    """The sync reads each contact's portal account (Portal, VowActive, VowEnabled expansions), so the blast radius
    says from the store whether the contact removed has one, and whether it was used in the last 30 days."""
    with_portal = [c for c in Contact.objects.filter(owner=alice).exclude(spark_id=None)
                   if isinstance(c.attributes.get("Portal"), dict)]
    without = Contact.objects.filter(owner=alice, attributes__Portal=None).exclude(spark_id=None).first()
    assert with_portal and without is not None
    other = with_portal[0]
    client = client_for(alice)
    page = client.get(f"/contacts/merge/?a={without.pk}&b={other.pk}&survivor={without.pk}").content.decode()
    login = other.attributes["Portal"]["LoginName"]
    used = "logged in within the last 30 days" if other.attributes.get("VowActive") else (
        "disabled" if other.attributes["Portal"].get("Enabled") is False else "not logged in within the last 30 days")
    assert f"“{escape(login)}”, {used} — lost" in page
    page = client.get(f"/contacts/merge/?a={other.pk}&b={without.pk}&survivor={other.pk}").content.decode()
    assert 'id="radius-portal">Portal account: none</li>' in page
