"""Merging every obvious duplicate group (same primary e-mail) in one bulk job, against a real worker, PostgreSQL and
sparksim: flexmls ends with one contact per group holding the united tags; a refused merge shows flexmls's reason and
deletes nothing; a group that changed since the agent confirmed it is skipped with why; another agent's contacts
are a 404. "Undo all" within the undo window takes the whole job back (nothing reaches flexmls); after everything
was sent it changes nothing; no group is prepared after an undo."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.test import Client

from contacts_app import bulk_merge
from contacts_app.duplicate_finder import duplicates_recompute
from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice(fresh_sim, link_agent):
    account = link_agent("alice")
    contacts_sync(account=account, full=True)
    return account


def client_for(account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def in_sim(sim, spark_id) -> bool:
    return sim.http.get(f"{sim.url}/_sim/contacts/{spark_id}").status_code == 200


def sim_contact(sim, spark_id):
    return sim.control("GET", f"/_sim/contacts/{spark_id}").json()


def plant(sim, account, sizes: list[int]) -> list[list[Contact]]:
    """Groups of the agent's contacts made into duplicates in flexmls (the others take the first's primary e-mail,
    in capitals, and their own tag), then synced and checked by the finder."""
    pool = list(Contact.objects.filter(owner=account).exclude(spark_id=None).exclude(primary_email="")
                .order_by("pk")[:sum(sizes)])
    groups, start = [], 0
    for n, size in enumerate(sizes):
        members = pool[start:start + size]
        start += size
        first = members[0]
        for i, c in enumerate(members):
            sim.control("PATCH", f"/_sim/contacts/{c.spark_id}", json={
                "PrimaryEmail": first.primary_email.upper() if i else first.primary_email,
                "Tags": [f"Group{n}-tag{i}"], "SecondaryEmails": []})
        groups.append(members)
    contacts_sync(account=account, full=True)
    duplicates_recompute(account=account)
    return [[Contact.objects.get(pk=c.pk) for c in g] for g in groups]


def confirm_and_start(client) -> BulkJob:
    """What the agent does: the button on the duplicates page, the confirmation, the job page."""
    page = client.get("/contacts/duplicates/").content.decode()
    assert "Merge all obvious groups" in page
    confirm = client.get("/contacts/duplicates/merge-obvious/")
    assert confirm.status_code == 200
    groups = re.findall(r'name="group" value="([\d,]+)"', confirm.content.decode())
    resp = client.post("/contacts/duplicates/merge-obvious/", {"group": groups})
    assert resp.status_code == 302, resp.content[:500]
    return BulkJob.objects.get(pk=int(resp["Location"].rstrip("/").rsplit("/", 1)[1]))


def job_done(job):
    def check():
        job.refresh_from_db()
        return (job.status != BulkJob.Status.PREPARING
                and not job.writes.filter(status__in=SparkWrite.OPEN).exists())
    return check


def test_three_obvious_groups_are_merged_in_one_job(fresh_sim, alice, celery_worker_proc):
    planted = plant(fresh_sim, alice, [2, 2, 3])
    client = client_for(alice)
    obvious = bulk_merge.obvious_groups(account=alice)
    planted_sets = [{c.pk for c in g} for g in planted]
    assert all(s in [{c.pk for c in g} for g in obvious] for s in planted_sets)
    confirm = client.get("/contacts/duplicates/merge-obvious/").content.decode()
    contacts = sum(len(g) for g in obvious)
    assert f"Merge {len(obvious)} groups ({contacts} contacts)?" in confirm
    assert "most details filled in" in confirm  # the survivor rule is stated

    seq = fresh_sim.last_seq()
    job = confirm_and_start(client)
    assert job.kind == "merge" and job.total == sum(len(g) - 1 for g in obvious)
    wait_for(job_done(job), timeout=90, message="the bulk merge to finish")
    # A merge that carried no news feed costs no read of the survivor's feeds afterwards (only the other's, before).
    time.sleep(1)
    read = {r["path"] for r in fresh_sim.requests_since(seq) if r["path"].endswith("/newsfeeds")}
    writes = list(job.writes.select_related("contact"))
    gained = {w.contact_id for w in writes if any(r["ok"] for r in w.payload.get("carried") or [])}
    for write in writes:
        if write.contact_id not in gained:
            assert f"/v1/contacts/{write.contact.spark_id}/newsfeeds" not in read
    assert job.writes.filter(status="confirmed").count() == job.total, list(job.writes.values("status",
                                                                                                 "spark_message"))
    for n, group in enumerate(planted):
        kept = [c for c in group if in_sim(fresh_sim, c.spark_id)]
        assert len(kept) == 1, f"group {n}: {len(kept)} contacts left in flexmls"
        tags = {t.lower() for t in sim_contact(fresh_sim, kept[0].spark_id)["Tags"]}
        assert tags == {f"group{n}-tag{i}" for i in range(len(group))}
        assert Contact.objects.filter(pk__in=[c.pk for c in group]).count() == 1
    page = client.get(f"/contacts/jobs/{job.pk}/").content.decode()
    assert page.count("Merged") == job.total and "finished" in page


def test_a_refused_merge_shows_why_and_deletes_nothing(fresh_sim, alice, celery_worker_proc):
    (first, second), = plant(fresh_sim, alice, [2])
    group = next(g for g in bulk_merge.obvious_groups(account=alice) if {c.pk for c in g} == {first.pk, second.pk})
    survivor, other = group
    fresh_sim.control("DELETE", f"/_sim/contacts/{survivor.spark_id}")  # gone from flexmls; the store still has it
    client = client_for(alice)
    job = confirm_and_start(client)
    wait_for(job_done(job), timeout=90, message="the bulk merge to settle")
    write = job.writes.get(payload__other_pk=other.pk)
    assert write.status == "failed" and write.spark_message
    assert in_sim(fresh_sim, other.spark_id)  # nothing deleted
    assert Contact.objects.get(pk=other.pk).pending_delete is False  # shown again
    page = client.get(f"/contacts/jobs/{job.pk}/").content.decode()
    assert "Refused, nothing deleted" in page and "failed" in page


def test_a_group_changed_since_the_confirmation_is_skipped(fresh_sim, alice, celery_worker_proc):
    (first, second), = plant(fresh_sim, alice, [2])
    client = client_for(alice)
    confirm = client.get("/contacts/duplicates/merge-obvious/").content.decode()
    groups = re.findall(r'name="group" value="([\d,]+)"', confirm)
    # Meanwhile the second one's e-mail is changed in flexmls.
    fresh_sim.control("PATCH", f"/_sim/contacts/{second.spark_id}", json={"PrimaryEmail": "someone.else@example.org"})
    contacts_sync(account=alice, full=True)
    resp = client.post("/contacts/duplicates/merge-obvious/", {"group": groups})
    job = BulkJob.objects.get(pk=int(resp["Location"].rstrip("/").rsplit("/", 1)[1]))
    wait_for(job_done(job), timeout=90, message="the bulk merge to settle")
    assert not job.writes.filter(payload__other_pk__in=[first.pk, second.pk]).exists()
    page = client.get(f"/contacts/jobs/{job.pk}/").content.decode()
    assert "no longer share one primary e-mail" in page
    assert in_sim(fresh_sim, first.spark_id) and in_sim(fresh_sim, second.spark_id)


def test_another_agents_contacts_are_a_404_and_bad_input_is_not_a_500(fresh_sim, alice, link_agent):
    bob = link_agent("bob")
    contacts_sync(account=bob, full=True)
    mine = Contact.objects.filter(owner=alice).first()
    theirs = Contact.objects.filter(owner=bob).first()
    client = client_for(alice)
    assert client.post("/contacts/duplicates/merge-obvious/",
                       {"group": [f"{mine.pk},{theirs.pk}"]}).status_code == 404
    assert client.post("/contacts/duplicates/merge-obvious/", {"group": ["x,1"]}).status_code == 404
    assert client.post("/contacts/duplicates/merge-obvious/", {"group": [""]}).status_code in (404, 422)
    assert client.post("/contacts/duplicates/merge-obvious/", {}).status_code == 422
    assert not BulkJob.objects.filter(kind="merge").exists()


def test_a_later_merge_in_a_group_waits_for_the_earlier_one(fresh_sim, alice):
    """A group of three: the second write carries what the first merged, so it is not sent (and deletes nothing)
    while the first has not gone through. Prepared and delivered by hand here: no worker."""
    from crm.agents.spark import client_for_account
    from crm.outbox.bulk import bulk_job_prepare
    from crm.outbox.registry import Permanent

    group, = plant(fresh_sim, alice, [3])
    ordered = next(g for g in bulk_merge.obvious_groups(account=alice) if {c.pk for c in g} == {c.pk for c in group})
    job = bulk_merge.bulk_merge_start(account=alice, user=alice.user, groups=[[c.pk for c in ordered]])
    bulk_job_prepare(job=job)
    first, second = job.writes.select_related("contact").order_by("pk")
    assert first.payload["other_pk"] == ordered[1].pk and second.payload["other_pk"] == ordered[2].pk
    client = client_for_account(alice, max_retries=0)
    with pytest.raises(Permanent):
        merge_deliver(client, second)
    assert all(in_sim(fresh_sim, c.spark_id) for c in ordered)  # nothing deleted
    merge_deliver(client, first)
    merge_deliver(client, SparkWrite.objects.select_related("contact").get(pk=second.pk))
    assert [in_sim(fresh_sim, c.spark_id) for c in ordered] == [True, False, False]
    tags = {t.lower() for t in sim_contact(fresh_sim, ordered[0].spark_id)["Tags"]}
    assert tags == {"group0-tag0", "group0-tag1", "group0-tag2"}


def merge_deliver(client, write):
    from contacts_app.merge import deliver_merge

    deliver_merge(client, write)


def test_undo_within_the_window_takes_back_the_whole_job(fresh_sim, alice, celery_worker_proc, settings):
    settings.UNDO_WINDOW_S = 15  # long enough for the worker to prepare the job first, on a busy machine
    planted = plant(fresh_sim, alice, [2, 3])
    client = client_for(alice)
    job = confirm_and_start(client)
    until = dt.datetime.fromisoformat(job.params["undo_until"])
    wait_for(lambda: BulkJob.objects.get(pk=job.pk).status == BulkJob.Status.RUNNING, timeout=30,
             message="the bulk merge to be prepared")
    writes = list(job.writes.all())
    assert len(writes) >= 3 and all(w.status == "queued" and w.next_attempt_at == until for w in writes)
    page = client.get(f"/contacts/jobs/{job.pk}/").content.decode()
    assert 'id="bulk-merge-undo"' in page and "Undo all" in page and "more seconds" in page

    resp = client.post(f"/contacts/jobs/{job.pk}/undo-merge/", follow=True)
    assert resp.redirect_chain[-1][0] == f"/contacts/jobs/{job.pk}/"
    page = resp.content.decode()
    assert "Undone: nothing was sent" in page and "Undo all" not in page
    assert "hx-trigger" not in page.split('id="job"', 1)[1].split(">", 1)[0]  # the job section stops polling
    job.refresh_from_db()
    assert job.status == BulkJob.Status.CANCELLED and job.finished_at and job.total == 0
    assert set(job.writes.values_list("status", flat=True)) == {"cancelled"}
    events = AuditEvent.objects.filter(write__bulk_job=job, outcome=AuditEvent.Outcome.CANCELLED)
    assert events.count() == len(writes)
    assert events.first().message == "The bulk merge was undone before this was sent"
    members = [c for g in planted for c in g]
    assert not Contact.objects.filter(pk__in=[c.pk for c in members], pending_delete=True).exists()

    # Past the window the held deliveries fire and find nothing to send: flexmls still holds every contact.
    time.sleep(max(0.0, (until - dt.datetime.now(dt.UTC)).total_seconds()) + 3)
    assert all(in_sim(fresh_sim, c.spark_id) for c in members)
    assert set(job.writes.values_list("status", flat=True)) == {"cancelled"}
    assert Contact.objects.filter(pk__in=[c.pk for c in members]).count() == len(members)


def test_undo_after_everything_was_sent_changes_nothing(fresh_sim, alice, celery_worker_proc, settings):
    settings.UNDO_WINDOW_S = 0  # the writes go out at once
    planted = plant(fresh_sim, alice, [2])
    client = client_for(alice)
    job = confirm_and_start(client)
    wait_for(job_done(job), timeout=90, message="the bulk merge to finish")
    assert job.writes.filter(status="confirmed").count() == job.total == 1
    audit = AuditEvent.objects.count()
    assert bulk_merge.bulk_merge_undo(account=alice, user=alice.user, job=job) == 0
    job.refresh_from_db()
    assert job.status == BulkJob.Status.RUNNING and job.total == 1 and AuditEvent.objects.count() == audit

    page = client.get(f"/contacts/jobs/{job.pk}/").content.decode()  # reading it marks the job done
    assert "finished" in page and 'id="bulk-merge-undo"' not in page
    assert bulk_merge.bulk_merge_undo(account=alice, user=alice.user, job=job) is None
    page = client.post(f"/contacts/jobs/{job.pk}/undo-merge/", follow=True).content.decode()
    assert "Nothing to undo" in page
    job.refresh_from_db()
    assert job.status == BulkJob.Status.DONE and job.writes.get().status == "confirmed"
    assert AuditEvent.objects.count() == audit
    assert [in_sim(fresh_sim, c.spark_id) for c in planted[0]].count(True) == 1


def test_no_group_is_prepared_after_an_undo(fresh_sim, alice, link_agent):
    """Undone before the worker prepared anything (no worker here): the preparer, run by hand, makes no write."""
    from crm.outbox.bulk import bulk_job_prepare

    group, = plant(fresh_sim, alice, [2])
    ordered = next(g for g in bulk_merge.obvious_groups(account=alice) if {c.pk for c in g} == {c.pk for c in group})
    job = bulk_merge.bulk_merge_start(account=alice, user=alice.user, groups=[[c.pk for c in ordered]])
    bob = link_agent("bob")
    assert bulk_merge.bulk_merge_undo(account=bob, user=bob.user, job=job) is None  # not bob's job
    assert bulk_merge.bulk_merge_undo(account=alice, user=alice.user, job=job) == 1  # the merge never prepared
    job.refresh_from_db()
    assert job.status == BulkJob.Status.CANCELLED
    page = client_for(alice).get(f"/contacts/jobs/{job.pk}/").content.decode()
    assert f"{ordered[1].display_name} into {ordered[0].display_name}</td><td>Undone" in page  # listed, not a blank
    assert "Undone: nothing was sent" in page
    assert bulk_merge.merge_prepare(job) == 0
    assert bulk_job_prepare(job=job) == 0
    assert not job.writes.exists()
    assert not Contact.objects.filter(pk__in=[c.pk for c in group], pending_delete=True).exists()
    assert bulk_merge.bulk_merge_undo(account=alice, user=alice.user, job=job) is None  # undone already
    client = client_for(bob)
    assert client.post(f"/contacts/jobs/{job.pk}/undo-merge/").status_code == 404


def test_the_confirmation_shows_each_groups_blast_radius(fresh_sim, alice, django_assert_max_num_queries):
    """Before anything is sent, per contact merged away: what the one kept takes (empty fields filled, tags added),
    its news feeds (carried over, or lost when turned off), and what a delete loses (shared links naming it, a portal
    login, its activity score). Read from the store in a bounded number of queries, however many groups."""
    from newsfeeds_app.models import NewsFeed, Schedule
    from sharing_app.models import SharedLink

    groups = plant(fresh_sim, alice, [2, 2, 3])
    kept_first, other = bulk_merge.obvious_groups(account=alice)[0][:2]
    Contact.objects.filter(pk=other.pk).update(score=42, attributes={
        **other.attributes, "Portal": {"LoginName": "pp42", "Enabled": True}, "VowActive": True})
    feed = NewsFeed.objects.create(account=alice, spark_id="F-bulk-1", name="Lake homes", contact=other,
                                   subscription_id="S-lake")
    Schedule.objects.create(account=alice, feed=feed, frequency="Scheduled")
    NewsFeed.objects.create(account=alice, spark_id="F-bulk-2", name="Old search", contact=other,
                            subscription_id="S-old", active=False)
    SharedLink.objects.create(account=alice, kind="search", search_name="Cabins").contacts.add(other)

    client = client_for(alice)
    client.get("/contacts/duplicates/")  # logged in and the session made, before counting
    with django_assert_max_num_queries(20):
        page = client.get("/contacts/duplicates/merge-obvious/").content.decode()
    assert page.count('class="wrap bulk-merge-group"') == 3
    body = " ".join(page.split())
    assert f"{other.display_name}:" in body
    assert "“Lake homes” (Scheduled schedule) <span class=\"ok\">recreated for" in body
    assert "“Old search” <span class=\"bad\">lost: it is turned off" in body
    assert ("1 shared link naming them, portal account “pp42”, logged in within the last 30 days, activity score 42"
            in body)
    assert f"adds tag {other.tags[0]}" in body  # each planted contact has its own tag
    assert kept_first.pk == int(re.findall(r'name="group" value="(\d+),', page)[0])
    assert sum(len(g) for g in groups) == 7
