"""The outbox against a real worker, Redis, PostgreSQL and sparksim: every change reaches Spark exactly once,
in order, or is shown failed with Spark's message."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils.html import escape

from contacts_app import services
from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.outbox.models import AuditEvent, SparkWrite
from crm.outbox.worker import outbox_sweep
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def sim_contact(sim, spark_id):
    return sim.control("GET", f"/_sim/contacts/{spark_id}").json()


def puts_to(sim, seq, spark_id):
    return [r for r in sim.requests_since(seq) if r["method"] == "PUT" and r["path"] == f"/v1/contacts/{spark_id}"]


def settled(*writes):
    ids = [w.pk for w in writes]
    return lambda: not SparkWrite.objects.filter(pk__in=ids, status__in=SparkWrite.OPEN).exists()


@pytest.fixture
def alice(fresh_sim, link_agent):
    account = link_agent("alice")
    contacts_sync(account=account, full=True)
    return account


def test_tag_reaches_spark_and_keeps_a_tag_added_elsewhere(fresh_sim, alice, celery_worker_proc):
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    fresh_sim.control("PATCH", f"/_sim/contacts/{contact.spark_id}",
                      json={"Tags": [*sim_contact(fresh_sim, contact.spark_id).get("Tags", []), "Added In Flexmls"]})
    write = services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag="Open House 11/22")
    assert Contact.objects.get(pk=contact.pk).write_state == "pending"  # shown at once, marked pending

    wait_for(settled(write), message="the tag write to settle")
    write.refresh_from_db()
    assert write.status == "confirmed"
    tags = sim_contact(fresh_sim, contact.spark_id)["Tags"]
    assert "Open House 11/22" in tags and "Added In Flexmls" in tags
    stored = Contact.objects.get(pk=contact.pk)
    assert stored.write_state == "" and "Added In Flexmls" in stored.tags
    assert AuditEvent.objects.filter(write=write, outcome="confirmed").exists()


def test_writes_to_one_contact_go_out_in_order(fresh_sim, alice, celery_worker_proc):
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    first = services.contact_update(account=alice, user=alice.user, contact=contact, changes={"Position": "First"})
    second = services.contact_update(account=alice, user=alice.user, contact=contact, changes={"Position": "Second"})
    third = services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag="Ordered")
    wait_for(settled(first, second, third), message="three writes to settle")
    remote = sim_contact(fresh_sim, contact.spark_id)
    assert remote["Position"] == "Second" and "Ordered" in remote["Tags"]
    assert [w.status for w in SparkWrite.objects.filter(contact=contact).order_by("id")] == ["confirmed"] * 3


def test_worker_killed_mid_write_delivers_exactly_once_after_restart(fresh_sim, alice, start_worker):
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    worker = start_worker()
    fresh_sim.faults(latency_ms=2500)
    seq = fresh_sim.last_seq()
    write = services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag="Survivor")
    wait_for(lambda: SparkWrite.objects.get(pk=write.pk).status == "in_flight", message="the write in flight")
    time.sleep(1.0)
    worker.kill()  # SIGKILL, mid-request
    assert SparkWrite.objects.get(pk=write.pk).status == "in_flight"

    fresh_sim.clear_faults()
    start_worker()
    time.sleep(7)  # the dead worker's claim (6 s in tests) runs out
    outbox_sweep()
    wait_for(settled(write), timeout=40, message="the write to settle after the restart")
    write.refresh_from_db()
    assert write.status == "confirmed"
    assert sim_contact(fresh_sim, contact.spark_id)["Tags"].count("Survivor") == 1
    assert len(puts_to(fresh_sim, seq, contact.spark_id)) == 1


def test_writes_made_during_an_outage_all_arrive_after_it(fresh_sim, alice, celery_worker_proc):
    contacts = list(Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk")[:40])
    fresh_sim.faults(outage_s=8)
    writes = [services.contact_tag_add(account=alice, user=alice.user, contact=c, tag="After Outage")
              for c in contacts]
    time.sleep(3)
    assert SparkWrite.objects.filter(pk__in=[w.pk for w in writes], status="confirmed").count() == 0
    assert SparkWrite.objects.filter(pk__in=[w.pk for w in writes], attempts__gte=1).exists()
    wait_for(settled(*writes), timeout=90, interval=0.5, message="every write after the outage")
    assert SparkWrite.objects.filter(pk__in=[w.pk for w in writes], status="confirmed").count() == len(writes)
    for c in contacts:
        assert sim_contact(fresh_sim, c.spark_id)["Tags"].count("After Outage") == 1


def test_duplicate_email_create_is_shown_failed_with_sparks_message(fresh_sim, alice, celery_worker_proc):
    taken = Contact.objects.filter(owner=alice).exclude(primary_email="").first().primary_email
    contact = services.contact_create(account=alice, user=alice.user,
                                      attributes={"DisplayName": "Second Copy", "PrimaryEmail": taken})
    write = contact.writes.get()
    wait_for(settled(write), message="the create to settle")
    write.refresh_from_db()
    assert write.status == "failed" and write.spark_code == 1055
    client = Client()
    client.force_login(alice.user)
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    # a duplicate would be refused again: no Retry is offered, only Discard
    assert escape(write.spark_message) in page and ">Retry<" not in page and "Discard" in page
    attention = client.get("/contacts/attention/").content.decode()
    assert "Second Copy" in attention and escape(write.spark_message) in attention

    client.post(f"/contacts/changes/{write.pk}/discard/")
    assert not Contact.objects.filter(pk=contact.pk).exists()  # never created in Spark: it goes


def test_transfer_to_another_office_is_refused_with_sparks_message(fresh_sim, alice, celery_worker_proc):
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    dave = fresh_sim.account("dave")
    write = services.contact_transfer(account=alice, user=alice.user, contact=contact, owner_id=dave["user_id"],
                                      owner_name=dave["name"])
    wait_for(settled(write), message="the transfer to settle")
    write.refresh_from_db()
    assert write.status == "failed" and write.spark_status == 403
    assert Contact.objects.filter(pk=contact.pk, write_state="failed").exists()  # still the agent's, flagged
    client = Client()
    client.force_login(alice.user)
    assert "own office" in write.spark_message
    assert escape(write.spark_message) in client.get(f"/contacts/{contact.pk}/").content.decode()


def test_transfer_within_the_office_leaves_the_list_once_confirmed(fresh_sim, alice, celery_worker_proc):
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    bob = fresh_sim.account("bob")
    write = services.contact_transfer(account=alice, user=alice.user, contact=contact, owner_id=bob["user_id"],
                                      owner_name=bob["name"])
    wait_for(settled(write), message="the transfer to settle")
    assert SparkWrite.objects.get(pk=write.pk).status == "confirmed"
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert sim_contact(fresh_sim, contact.spark_id)["OwnerId"] == bob["user_id"]


def test_undone_delete_never_reaches_spark(fresh_sim, alice, celery_worker_proc):
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    seq = fresh_sim.last_seq()
    write = services.contact_delete(account=alice, user=alice.user, contact=contact, undo_s=3)
    assert services.contact_delete_undo(account=alice, user=alice.user, write=write)
    time.sleep(4)
    outbox_sweep()
    time.sleep(1)
    assert not [r for r in fresh_sim.requests_since(seq) if r["method"] == "DELETE"]
    assert Contact.objects.get(pk=contact.pk).pending_delete is False
    assert SparkWrite.objects.get(pk=write.pk).status == "cancelled"


def test_delete_goes_out_after_the_undo_window(fresh_sim, alice, celery_worker_proc):
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    write = services.contact_delete(account=alice, user=alice.user, contact=contact, undo_s=2)
    assert SparkWrite.objects.get(pk=write.pk).status == "queued"
    wait_for(settled(write), timeout=30, message="the delete to go out")
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert fresh_sim.http.get(f"{fresh_sim.url}/_sim/contacts/{contact.spark_id}").status_code == 404


def test_create_that_timed_out_is_never_posted_twice(fresh_sim, alice, start_worker):
    start_worker(SPARK_READ_TIMEOUT="1")
    fresh_sim.faults(latency_ms=2500)  # Spark applies the POST after our read timeout has given up on it
    seq = fresh_sim.last_seq()
    contact = services.contact_create(account=alice, user=alice.user,
                                      attributes={"DisplayName": "Tim Eout", "PrimaryEmail": "tim.eout@example.org"})
    write = contact.writes.get()
    wait_for(lambda: SparkWrite.objects.get(pk=write.pk).spark_message != "", timeout=20,
             message="the first attempt to time out")
    assert SparkWrite.objects.get(pk=write.pk).status == "queued"
    fresh_sim.clear_faults()
    wait_for(settled(write), timeout=40, message="the create to settle")
    assert SparkWrite.objects.get(pk=write.pk).status == "confirmed"
    owner = fresh_sim.account("alice")["user_id"]
    remote = [c for c in fresh_sim.control("GET", f"/_sim/contacts?owner={owner}").json()["contacts"]
              if c.get("PrimaryEmail") == "tim.eout@example.org"]
    assert len(remote) == 1
    assert len([r for r in fresh_sim.requests_since(seq) if r["method"] == "POST" and r["path"] == "/v1/contacts"]) == 1
    assert Contact.objects.get(pk=contact.pk).spark_id == remote[0]["Id"]


def test_connecting_an_unconnected_contact(fresh_sim, alice, celery_worker_proc):
    contact = Contact.objects.filter(owner=alice, record_status="Unconnected").first()
    write = services.contact_connect(account=alice, user=alice.user, contact=contact)
    wait_for(settled(write), message="the connect to settle")
    assert SparkWrite.objects.get(pk=write.pk).status == "confirmed"
    assert sim_contact(fresh_sim, contact.spark_id)["RecordStatus"] == "Connected"
    assert Contact.objects.get(pk=contact.pk).record_status == "Connected"


def test_spark_down_banner_says_changes_are_queued(fresh_sim, alice, celery_worker_proc):
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    fresh_sim.faults(outage_s=20)
    write = services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag="Queued")
    wait_for(lambda: SparkWrite.objects.get(pk=write.pk).attempts >= 1
             and SparkWrite.objects.get(pk=write.pk).spark_message, message="a failed attempt")
    client = Client()
    client.force_login(alice.user)
    page = client.get("/contacts/").content.decode()
    assert 'id="spark-down"' in page and "change queued" in page and "they go out when it is back" in page
    fresh_sim.clear_faults()
    wait_for(settled(write), timeout=30, message="the write once Spark is back")
    assert 'id="spark-down"' not in client.get("/contacts/").content.decode()


# -- a retried create never adopts someone else's contact; no write retries forever ---------------------------


def _pat_doe_already_there(sim, alice, case: str) -> Contact:
    """Turn one of alice's contacts into an e-mail-less "Pat Doe": created years ago and in the store ("old"),
    created a moment ago and in the store ("recent"), or created years ago and not yet synced ("unsynced")."""
    if case == "recent":
        spark_id = sim.control("POST", f"/_sim/agents/{alice.spark_user_id}/contacts", json={"count": 1}).json()["ids"][0]
    else:
        spark_id = Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk").first().spark_id
    sim.control("PATCH", f"/_sim/contacts/{spark_id}", json={"DisplayName": "Pat Doe", "PrimaryEmail": None})
    contacts_sync(account=alice, full=True)
    old = Contact.objects.get(spark_id=spark_id)
    assert old.display_name == "Pat Doe" and not old.primary_email
    if case == "unsynced":
        old.delete()
    return old


def _posted(sim, seq):
    return [r for r in sim.requests_since(seq) if r["method"] == "POST" and r["path"] == "/v1/contacts"]


@pytest.mark.parametrize("case", ["old", "recent", "unsynced"])
def test_retried_create_without_email_never_adopts_an_older_namesake(fresh_sim, alice, celery_worker_proc, case):
    old = _pat_doe_already_there(fresh_sim, alice, case)
    fresh_sim.faults(error_rate=1.0, error_status=500)  # the first POST (and whatever follows) gets a 5xx
    seq = fresh_sim.last_seq()
    contact = services.contact_create(account=alice, user=alice.user, attributes={"DisplayName": "Pat Doe"})
    write = contact.writes.get()
    wait_for(lambda: any(r["status"] == 500 for r in _posted(fresh_sim, seq)), message="the first POST to fail")
    fresh_sim.clear_faults()

    wait_for(settled(write), timeout=40, message="the create to settle")
    write.refresh_from_db()
    assert write.status == "confirmed", write.spark_message
    contact.refresh_from_db()
    assert contact.spark_id and contact.spark_id != old.spark_id and contact.write_state == ""
    assert sim_contact(fresh_sim, contact.spark_id)["DisplayName"] == "Pat Doe"
    assert [r["status"] for r in _posted(fresh_sim, seq)][-1] in (200, 201)  # posted again, once it could be
    if case != "unsynced":
        assert Contact.objects.get(pk=old.pk).spark_id == old.spark_id  # the older one untouched
    assert sim_contact(fresh_sim, old.spark_id)["DisplayName"] == "Pat Doe"


def test_create_without_email_whose_answer_was_lost_is_found_not_posted_again(fresh_sim, alice, start_worker):
    old = _pat_doe_already_there(fresh_sim, alice, "old")
    start_worker(SPARK_READ_TIMEOUT="1")
    fresh_sim.faults(latency_ms=2500)  # Spark applies the POST after our read timeout has given up on it
    seq = fresh_sim.last_seq()
    contact = services.contact_create(account=alice, user=alice.user, attributes={"DisplayName": "Pat Doe"})
    write = contact.writes.get()
    wait_for(lambda: SparkWrite.objects.get(pk=write.pk).spark_message != "", timeout=20,
             message="the first attempt to time out")
    fresh_sim.clear_faults()
    wait_for(settled(write), timeout=40, message="the create to settle")
    assert SparkWrite.objects.get(pk=write.pk).status == "confirmed"
    assert len(_posted(fresh_sim, seq)) == 1
    owner = alice.spark_user_id
    pats = [c["Id"] for c in fresh_sim.control("GET", f"/_sim/contacts?owner={owner}").json()["contacts"]
            if c.get("DisplayName") == "Pat Doe"]
    assert len(pats) == 2
    contact.refresh_from_db()
    assert contact.spark_id in pats and contact.spark_id != old.spark_id


def test_write_that_keeps_failing_stops_after_max_attempts(fresh_sim, alice, start_worker):
    start_worker(OUTBOX_MAX_ATTEMPTS="3")
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    fresh_sim.faults(error_rate=1.0, error_status=500)
    write = services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag="Never")
    wait_for(settled(write), timeout=40, message="the write to stop retrying")
    write.refresh_from_db()
    assert write.status == "failed" and write.attempts == 3
    assert "after 3 attempts" in write.spark_message and write.spark_status == 500
    assert Contact.objects.get(pk=contact.pk).write_state == "failed"
    assert AuditEvent.objects.filter(write=write, outcome="failed").exists()
    client = Client()
    client.force_login(alice.user)
    attention = client.get("/contacts/attention/").content.decode()
    assert escape(write.spark_message) in attention

    fresh_sim.clear_faults()  # the agent's Retry sends it again, with a fresh count
    assert services.write_retry(account=alice, user=alice.user, write=write)
    wait_for(settled(write), timeout=30, message="the retried write")
    assert SparkWrite.objects.get(pk=write.pk).status == "confirmed"


@pytest.mark.allows_tracebacks("the test plants an IntegrityError in the delivery; the outbox logs it with its traceback")
def test_an_error_of_ours_counts_too_and_stops_with_a_readable_reason(fresh_sim, alice, settings, monkeypatch):
    from django.db import IntegrityError

    from crm.outbox import registry, worker

    settings.OUTBOX_MAX_ATTEMPTS = 4
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    write = services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag="Clash")

    def clash(client, write):
        raise IntegrityError('duplicate key value violates unique constraint "contacts_app_contact_spark_id_key"')

    monkeypatch.setitem(registry.HANDLERS, SparkWrite.Kind.TAG_ADD, clash)
    outcomes = []
    for _ in range(10):  # what the worker would do, without the waits in between
        outcomes.append(worker.write_deliver(write.pk))
        if outcomes[-1] == "failed":
            break
        SparkWrite.objects.filter(pk=write.pk).update(next_attempt_at=None)
    assert outcomes == ["retry"] * 3 + ["failed"]
    write.refresh_from_db()
    assert write.status == "failed"
    assert "after 4 attempts" in write.spark_message and "IntegrityError" in write.spark_message
    assert "duplicate key" in write.spark_message
