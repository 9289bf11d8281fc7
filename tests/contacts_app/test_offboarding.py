"""Offboarding: a broker moves a departing agent's whole book in one Celery job, with progress, a result per
contact, and the news feed schedules put back for the new owner (or listed with the reason they could not be)."""

from __future__ import annotations

import collections
import time

import pytest

from contacts_app import offboarding
from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.agents.models import AgentDirectoryEntry, SparkAccount
from crm.agents.spark import client_for_account
from crm.outbox.models import BulkJob, SparkWrite
from crm.spark.resources import newsfeeds
from tests.conftest import wait_for
from tests.contacts_app.test_admin import action, broker, broker_client  # noqa: F401  (fixtures)


def sim_feeds(sim) -> dict[str, dict]:
    return {f["Id"]: f for f in sim.control("GET", "/_sim/newsfeeds").json()["newsfeeds"]}


def sim_schedules(sim) -> list[dict]:
    return sim.control("GET", "/_sim/schedules").json()["schedules"]


def owned_in_sim(sim, user_id: str) -> int:
    return sim.control("GET", f"/_sim/contacts?owner={user_id}&limit=1").json()["total"]


def give_schedules(sim, account: SparkAccount) -> dict[str, str]:
    """As the agent would in flexmls: own schedules on two of their contacts' feeds and a contact default schedule
    (the seed's random picks may give them none). Returns {feed id: contact spark id}."""
    client = client_for_account(account)
    feeds = sorted((f for f in sim_feeds(sim).values() if f["OwnerId"] == account.spark_user_id and f["ContactId"]),
                   key=lambda f: f["Id"])[:2]
    assert len(feeds) == 2
    for hour, f in zip((7, 18), feeds, strict=True):
        newsfeeds.feed_schedules_delete_all(client, f["Id"], contact_id=f["ContactId"])
        newsfeeds.feed_schedule_create(client, f["Id"], {"HoursOfDay": [hour], "DaysOfWeek": ["Tuesday"]},
                                       contact_id=f["ContactId"])
    newsfeeds.default_schedules_delete_all(client, contact_id=feeds[0]["ContactId"])
    newsfeeds.default_schedule_create(client, {"Frequency": "Scheduled", "DaysOfWeek": ["Friday"], "HoursOfDay": [9]},
                                      contact_id=feeds[0]["ContactId"])
    return {f["Id"]: f["ContactId"] for f in feeds}


def job_done(job_id: int):
    return lambda: BulkJob.objects.get(pk=job_id).params.get("phase") == offboarding.Phase.DONE


def start_offboarding(client, departing: SparkAccount, target_id: str) -> BulkJob:
    resp = action(client, "sparkaccount", "offboard_agent", [departing.pk], apply="1", target=target_id)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    job = BulkJob.objects.get(account=departing, params__offboarding=True)
    assert resp["Location"] == f"/admin/outbox/bulkjob/{job.pk}/change/"
    return job


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_offboarding_a_departing_agent_with_500_contacts(fresh_sim, link_agent, broker_client, start_worker):  # noqa: F811
    alice, bob, mona = link_agent("alice"), link_agent("bob"), link_agent("mona")
    fresh_sim.control("POST", f"/_sim/agents/{alice.spark_user_id}/contacts", json={"count": 500})
    contacts_sync(account=alice, full=True)
    book = Contact.objects.filter(owner=alice).count()
    assert book == owned_in_sim(fresh_sim, alice.spark_user_id) >= 560
    feeds = sim_feeds(fresh_sim)
    scheduled_feeds = give_schedules(fresh_sim, alice)
    bob_before = owned_in_sim(fresh_sim, bob.spark_user_id)
    start_worker(), start_worker()

    ask = action(broker_client, "sparkaccount", "offboard_agent", [alice.pk]).content.decode()
    assert f"<strong>{book}</strong> contacts" in ask and bob.name in ask
    seq, started = fresh_sim.last_seq(), time.monotonic()
    job = start_offboarding(broker_client, alice, bob.spark_user_id)
    page = broker_client.get(f"/admin/outbox/bulkjob/{job.pk}/change/").content.decode()
    assert 'http-equiv="refresh"' in page and "<progress" in page  # the page follows the job while it runs

    wait_for(job_done(job.pk), timeout=110, interval=0.5, message="the offboarding job to finish")
    elapsed = time.monotonic() - started
    job.refresh_from_db()
    assert job.total == book and job.status == "done"
    assert job.writes.filter(status="confirmed").count() == book
    assert set(job.writes.values_list("account_id", flat=True)) == {mona.pk}  # sent with the MLS admin's link
    assert owned_in_sim(fresh_sim, alice.spark_user_id) == 0
    assert owned_in_sim(fresh_sim, bob.spark_user_id) == bob_before + book

    page = broker_client.get(f"/admin/outbox/bulkjob/{job.pk}/change/").content.decode()
    assert 'http-equiv="refresh"' not in page and "Finished" in page
    assert f"{book} of {book} transfers settled" in page and f"{book} confirmed · 0 failed" in page
    results = job.params["schedule_results"]
    assert len(results) == 3 and all(r["ok"] for r in results), results  # sparksim moves them along: kept
    assert {r["spark_id"] for r in results} == set(scheduled_feeds.values())
    assert {r["what"] for r in results} >= {f"“{feeds[f]['Name']}” feed schedule (Scheduled Tuesday at 7:00)"
                                            for f in list(scheduled_feeds)[:1]}
    assert "could not be recreated" in page and "Kept (Spark moved it with the contact)" in page

    log = fresh_sim.requests_since(seq)
    logins = {a["api_key"]: a["login"] for a in fresh_sim.accounts()}
    per_key = collections.Counter(logins.get(r["api_key"], r["api_key"]) for r in log)
    puts = collections.Counter(logins.get(r["api_key"]) for r in log if r["method"] == "PUT")
    print(f"\noffboarding {book} contacts: {elapsed:.1f}s; requests per key: {dict(per_key)}; transfers: {dict(puts)}")
    assert puts["mona"] == book and per_key["alice"] < book + 50  # reads on alice's key, transfers on mona's
    assert max(per_key.values()) < 1500  # each key stays within its 5-minute budget
    wait_for(lambda: Contact.objects.filter(owner=bob).count() >= book, timeout=60,
             message="the new owner's sync to bring the contacts")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_offboarding_result_lists_failed_transfers_and_schedules_that_could_not_be_recreated(
        fresh_sim, link_agent, broker_client, celery_worker_proc):  # noqa: F811
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    carol = fresh_sim.account("carol")  # in the directory, but no login in the CRM: nothing to act for her with
    AgentDirectoryEntry.objects.create(spark_user_id=carol["user_id"], name=carol["name"],
                                       office_id=carol["office_id"], office_name=carol["office_name"])
    give_schedules(fresh_sim, alice)
    with_feeds = {f["ContactId"] for f in sim_feeds(fresh_sim).values() if f["OwnerId"] == alice.spark_user_id}
    vanished = Contact.objects.filter(owner=alice).exclude(spark_id__in=with_feeds).first()
    fresh_sim.control("DELETE", f"/_sim/contacts/{vanished.spark_id}")  # deleted in flexmls meanwhile
    book = Contact.objects.filter(owner=alice).count()

    job = start_offboarding(broker_client, alice, carol["user_id"])
    wait_for(job_done(job.pk), timeout=60, interval=0.5, message="the offboarding job to finish")
    job.refresh_from_db()
    assert job.writes.filter(status="confirmed").count() == book - 1
    failed = job.writes.get(status="failed")
    assert failed.contact_name == vanished.display_name

    page = broker_client.get(f"/admin/outbox/bulkjob/{job.pk}/change/").content.decode()
    assert "Failed" in page and vanished.display_name in page
    results = job.params["schedule_results"]
    assert len(results) == 3 and not any(r["ok"] for r in results)
    assert {r["message"] for r in results} == {
        f"Not recreated: {carol['name']} has no working Spark link in the CRM to act with."}
    assert f"{len(results)} could not be recreated for {carol['name']}" in page


@pytest.mark.django_db
def test_schedules_are_kept_restored_recreated_or_listed_with_the_reason(fresh_sim, link_agent):
    alice, bob = link_agent("alice"), link_agent("bob")
    contacts_sync(account=alice, full=True)
    feed_id, spark_id = next(iter(give_schedules(fresh_sim, alice).items()))
    own = next(s for s in sim_schedules(fresh_sim) if s["NewsfeedId"] == feed_id)
    contact = Contact.objects.get(spark_id=spark_id)
    ac, bc = client_for_account(alice), client_for_account(bob)

    entry = offboarding.schedules_read(ac, contact)
    entry["spark_id"] = contact.spark_id
    assert entry["default"] == [{"Frequency": "Scheduled", "DaysOfWeek": ["Friday"], "HoursOfDay": [9]}]
    feed = next(f for f in entry["feeds"] if f["id"] == feed_id)
    assert feed["schedules"][0]["HoursOfDay"] == own["HoursOfDay"]

    def results(status="confirmed", client=bc):
        return offboarding._schedule_results(entry, status, client, bob.name, alice.name)

    assert {r["message"] for r in results(status="failed")} == {
        f"Not recreated: the contact was not transferred; it stays with {alice.name}."}
    ac.request("PUT", f"/contacts/{contact.spark_id}", data={"OwnerId": bob.spark_user_id})
    assert {r["message"] for r in results()} == {"Kept (Spark moved it with the contact)"}

    # Spark dropped them with the transfer: they are created again for the new owner, as they were
    newsfeeds.default_schedules_delete_all(bc, contact_id=contact.spark_id)
    newsfeeds.feed_schedules_delete_all(bc, feed_id, contact_id=contact.spark_id)
    assert {r["message"] for r in results()} == {"Recreated"}
    mine = [s for s in sim_schedules(fresh_sim) if s["Subject"] == ["contact", contact.spark_id]]
    assert {(s["NewsfeedId"], tuple(s["HoursOfDay"] or ())) for s in mine} >= {
        (None, (9,)), (feed_id, tuple(own["HoursOfDay"]))}

    # changed since: put back as it was
    newsfeeds.default_schedule_update(bc, newsfeeds.default_schedule_list(bc, contact_id=contact.spark_id)[0].id,
                                      {"Frequency": "Instant"}, contact_id=contact.spark_id)
    assert "Put back as it was" in {r["message"] for r in results()}
    assert newsfeeds.default_schedule_list(bc, contact_id=contact.spark_id)[0].hours_of_day == [9]

    # the feed did not come along: listed, with the reason
    newsfeeds.newsfeed_delete(bc, feed_id)
    by_what = {r["what"].split(" (")[0]: r for r in results()}
    assert by_what["Default schedule"]["ok"]
    lost = next(r for w, r in by_what.items() if w != "Default schedule")
    assert not lost["ok"] and lost["message"] == "Not recreated: the news feed did not move to the new owner in Spark"


@pytest.mark.django_db
def test_offboarding_is_refused_with_a_reason_before_anything_is_queued(fresh_sim, link_agent, broker_client):  # noqa: F811
    alice, bob, dave = link_agent("alice"), link_agent("bob"), link_agent("dave")
    contacts_sync(account=alice, full=True)
    SparkAccount.objects.filter(mls_admin=True).delete()

    across = action(broker_client, "sparkaccount", "offboard_agent", [alice.pk], apply="1",
                    target=dave.spark_user_id)
    assert across.status_code == 422
    assert "only the MLS admin may transfer across offices" in across.content.decode()
    nobody = action(broker_client, "sparkaccount", "offboard_agent", [alice.pk], apply="1", target="")
    assert nobody.status_code == 422 and "Choose the agent to move them to." in nobody.content.decode()
    two = action(broker_client, "sparkaccount", "offboard_agent", [alice.pk, bob.pk])
    assert two.status_code == 302
    assert "Select exactly one departing agent" in broker_client.get("/admin/agents/sparkaccount/").content.decode()
    assert not BulkJob.objects.exists() and not SparkWrite.objects.exists()
