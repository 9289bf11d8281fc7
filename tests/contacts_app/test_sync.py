"""Contacts sync, run by a real Celery worker on real Redis and PostgreSQL against sparksim."""

from __future__ import annotations

import pytest

from contacts_app.models import Contact, SyncState
from contacts_app.sync import contacts_sync
from contacts_app.tasks import sync_agent_contacts
from tests.conftest import wait_for


def sim_contacts(sim, login):
    owner = sim.account(login)["user_id"]
    return sim.control("GET", f"/_sim/contacts?owner={owner}").json()["contacts"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_pulls_all_of_an_agents_contacts_into_the_store(fresh_sim, link_agent, celery_worker_proc):
    alice = link_agent("alice")
    expected = sim_contacts(fresh_sim, "alice")

    sync_agent_contacts.delay(alice.pk, True)

    wait_for(lambda: Contact.objects.filter(owner=alice).count() == len(expected), timeout=60,
             message="all of alice's contacts in the store")
    stored = {c.spark_id: c for c in Contact.objects.filter(owner=alice)}
    assert set(stored) == {c["Id"] for c in expected}
    sample = expected[0]
    assert stored[sample["Id"]].display_name == sample["DisplayName"]
    assert stored[sample["Id"]].tags == sample.get("Tags", [])
    unconnected = [c for c in expected if c.get("RecordStatus") == "Unconnected"]
    assert Contact.objects.filter(owner=alice, record_status="Unconnected").count() == len(unconnected)
    state = wait_for(lambda: SyncState.objects.filter(account=alice, status="idle", last_success_at__isnull=False).first(),
                     message="the sync to finish")
    assert state.progress_done == len(expected)


@pytest.mark.django_db(transaction=True)
def test_incremental_sync_of_unchanged_contacts_costs_two_requests(fresh_sim, link_agent):
    alice = link_agent("alice")
    assert contacts_sync(account=alice, full=True).fetched > 0
    seq = fresh_sim.last_seq()
    result = contacts_sync(account=alice)
    data_requests = [r for r in fresh_sim.requests_since(seq) if r["path"] != "/v1/session"]
    assert not result.full
    assert len(data_requests) == 2


@pytest.mark.django_db(transaction=True)
def test_incremental_sync_picks_up_a_change_made_in_flexmls(fresh_sim, link_agent):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    target = sim_contacts(fresh_sim, "alice")[0]
    fresh_sim.control("PATCH", f"/_sim/contacts/{target['Id']}", json={"DisplayName": "Renamed Elsewhere"})
    contacts_sync(account=alice)
    assert Contact.objects.get(spark_id=target["Id"]).display_name == "Renamed Elsewhere"


@pytest.mark.django_db(transaction=True)
def test_full_sync_removes_contacts_deleted_in_flexmls(fresh_sim, link_agent):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    target = sim_contacts(fresh_sim, "alice")[0]
    fresh_sim.control("DELETE", f"/_sim/contacts/{target['Id']}")
    contacts_sync(account=alice, full=True)
    assert not Contact.objects.filter(spark_id=target["Id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_second_sync_while_one_is_claimed_does_nothing(fresh_sim, link_agent):
    from contacts_app.sync import sync_state_claim

    alice = link_agent("alice")
    assert sync_state_claim(account=alice, resource="contacts") is not None
    assert contacts_sync(account=alice).ran is False
    assert Contact.objects.filter(owner=alice).count() == 0


@pytest.mark.django_db(transaction=True)
def test_wrong_credentials_mark_the_link_broken(fresh_sim, link_agent):
    alice = link_agent("alice")
    alice.api_secret = "wrong"
    alice.save()
    result = contacts_sync(account=alice, full=True)
    alice.refresh_from_db()
    assert result.error
    assert alice.link_status == "broken"


@pytest.mark.django_db(transaction=True)
def test_token_expiry_in_the_middle_of_a_sync_resumes_without_gap_or_duplicate(fresh_sim, link_agent):
    import threading
    import time

    alice = link_agent("alice")
    expected = sim_contacts(fresh_sim, "alice")
    fresh_sim.faults(latency_ms=150)

    def expire_soon():
        time.sleep(0.5)  # a page or two in
        fresh_sim.expire_tokens()

    seq = fresh_sim.last_seq()
    threading.Thread(target=expire_soon).start()
    result = contacts_sync(account=alice, full=True)
    log = fresh_sim.requests_since(seq)
    assert any(r["status"] == 401 and r["code"] == 1020 for r in log)  # the expiry did hit the sync
    assert result.error == ""
    stored = list(Contact.objects.filter(owner=alice).values_list("spark_id", flat=True))
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == {c["Id"] for c in expected}


@pytest.mark.django_db(transaction=True)
def test_activity_refresh_stores_series_counts_and_trend(fresh_sim, link_agent):
    import datetime as dt

    from contacts_app.sync import activity_stale_contacts, contact_activity_refresh

    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    due = activity_stale_contacts(account=alice, limit=3, max_age=dt.timedelta(minutes=15))
    assert len(due) == 3
    top = Contact.objects.get(pk=due[0])
    assert top.score == Contact.objects.filter(owner=alice).order_by("-score").first().score
    activity = contact_activity_refresh(contact=top)
    summary = fresh_sim.control("GET", f"/_sim/contacts/{top.spark_id}").json()
    assert len(activity.daily) == 30
    assert sum(d["score"] for d in activity.daily) == top.score  # the series adds up to the score
    top.refresh_from_db()
    week, before = activity.daily[-7:], activity.daily[-14:-7]
    assert top.trend_7d == sum(d["score"] for d in week) - sum(d["score"] for d in before)
    assert activity.listings_viewed is not None and activity.manual_emails_sent is not None
    assert summary["Id"] == top.spark_id
    assert top.pk not in activity_stale_contacts(account=alice, limit=3, max_age=dt.timedelta(minutes=15))
