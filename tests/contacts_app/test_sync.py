"""Contacts sync, run by a real Celery worker on real Redis and PostgreSQL against sparksim."""

from __future__ import annotations

import pytest

from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from contacts_app.tasks import sync_agent_contacts
from crm.agents.models import SyncState
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
    from crm.agents.sync import sync_state_claim

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


# -- hostile upstream values: one bad record never stops an agent's sync -----------------------------------------

LONG_TAG = "Relocating from Minneapolis-Saint Paul, first-time buyer, pre-approved, wants acreage"


def _state(account) -> SyncState:
    return SyncState.objects.get(account=account, resource="contacts")


@pytest.mark.django_db(transaction=True)
def test_a_contact_with_nul_and_control_characters_is_stored_cleaned_and_the_rest_import(fresh_sim, link_agent):
    alice = link_agent("alice")
    expected = sim_contacts(fresh_sim, "alice")
    bad = expected[len(expected) // 2]
    fresh_sim.control("PATCH", f"/_sim/contacts/{bad['Id']}", json={
        "DisplayName": "Nul\u0000 Bell\u0007 Name", "Note": "first\u0000 line\r\nsecond\tline\u001b",
        "Tags": ["VIP\u0000", LONG_TAG], "Settings": {"Key\u0000": ["\u0001v", {"Deep": "d\ud800eep"}]},
    })

    result = contacts_sync(account=alice, full=True)

    assert result.error == "" and result.skipped == []
    assert set(Contact.objects.filter(owner=alice).values_list("spark_id", flat=True)) == {c["Id"] for c in expected}
    stored = Contact.objects.get(spark_id=bad["Id"])
    assert stored.display_name == "Nul Bell Name"
    assert stored.attributes["Note"] == "first line\r\nsecond\tline"
    assert stored.tags == ["VIP", LONG_TAG]  # Spark's tag over 75 characters kept whole
    assert stored.attributes["Settings"] == {"Key": ["v", {"Deep": "deep"}]}
    state = _state(alice)
    assert state.status == "idle" and state.last_success_at and state.claim_token == ""
    assert state.skipped == 0


@pytest.mark.django_db(transaction=True)
def test_a_hostile_edit_does_not_stop_the_changes_after_it(fresh_sim, link_agent):
    alice = link_agent("alice")
    contacts_sync(account=alice, full=True)
    first, second = sim_contacts(fresh_sim, "alice")[:2]
    fresh_sim.control("PATCH", f"/_sim/contacts/{first['Id']}", json={"DisplayName": "\u0000"})
    fresh_sim.control("PATCH", f"/_sim/contacts/{second['Id']}", json={"DisplayName": "Renamed After"})

    result = contacts_sync(account=alice)

    assert not result.full and result.error == ""
    assert Contact.objects.get(spark_id=first["Id"]).display_name == ""
    assert Contact.objects.get(spark_id=second["Id"]).display_name == "Renamed After"
    assert _state(alice).status == "idle"


@pytest.mark.django_db(transaction=True)
def test_a_record_the_store_refuses_is_skipped_and_reported_while_the_rest_import(fresh_sim, link_agent, caplog):
    alice = link_agent("alice")
    expected = sim_contacts(fresh_sim, "alice")
    too_long_id = "2" * 60  # over the store's 40 characters for a Spark Id
    fresh_sim.control("POST", f"/_sim/agents/{alice.spark_user_id}/contacts/raw",
                      json={"Id": too_long_id, "DisplayName": "Unstorable"})

    with caplog.at_level("WARNING", logger="contacts_app.sync"):
        result = contacts_sync(account=alice, full=True)

    assert result.error == ""
    assert [record_id for record_id, _ in result.skipped] == [too_long_id]
    assert "value too long" in result.skipped[0][1]
    assert set(Contact.objects.filter(owner=alice).values_list("spark_id", flat=True)) == {c["Id"] for c in expected}
    state = _state(alice)
    assert state.status == "idle" and state.skipped == 1 and too_long_id in state.skipped_detail
    assert any(too_long_id in r.getMessage() and "skipped" in r.getMessage() for r in caplog.records)
    # The next sync that no longer meets it reports nothing skipped.
    fresh_sim.control("DELETE", f"/_sim/contacts/{too_long_id}")
    contacts_sync(account=alice, full=True)
    assert _state(alice).skipped == 0 and _state(alice).skipped_detail == ""


@pytest.mark.django_db(transaction=True)
@pytest.mark.allows_tracebacks("the test plants a bug in the sync; it is logged with its traceback")
def test_a_sync_stopped_by_an_unexpected_error_is_marked_failed_not_left_running(fresh_sim, link_agent, monkeypatch):
    from contacts_app import sync

    alice = link_agent("alice")

    def broken(account, records):
        raise RuntimeError("bug")

    monkeypatch.setattr(sync, "_upsert_contacts", broken)
    with pytest.raises(RuntimeError):
        contacts_sync(account=alice, full=True)

    state = _state(alice)
    assert state.status == "failed" and "RuntimeError" in state.last_error and state.last_failed_at
    assert state.claimed_until is None and state.claim_token == ""
    monkeypatch.undo()
    assert contacts_sync(account=alice, full=True).ran  # the next one runs, and succeeds
    assert _state(alice).status == "idle" and _state(alice).last_error == ""


@pytest.mark.django_db(transaction=True)
def test_a_sync_left_running_past_its_claim_is_failed_shown_as_retrying_and_run_again(fresh_sim, link_agent):
    import datetime as dt

    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from crm.agents.sync import WORKER_STOPPED, sync_states_reap_stale

    alice = link_agent("alice")
    # What a worker killed in the middle of a sync leaves: "running", 0 of 0, a claim that ran out.
    SyncState.objects.create(account=alice, resource="contacts", status="running", claim_token="dead",
                             claimed_until=timezone.now() - dt.timedelta(minutes=1))
    client = Client()
    assert client.login(username="alice", password="pw-alice")
    page = client.get(reverse("contacts:list")).content.decode()
    assert "syncing from flexmls" not in page and "0 of 0" not in page
    assert f"Last sync failed: {WORKER_STOPPED} — retrying" in page

    assert sync_states_reap_stale() == 1  # the beat's sweep
    state = _state(alice)
    assert state.status == "failed" and state.last_error == WORKER_STOPPED and state.claim_token == ""

    assert contacts_sync(account=alice).ran  # the rerun
    state = _state(alice)
    assert state.status == "idle" and state.last_success_at and state.last_error == ""
    assert Contact.objects.filter(owner=alice).count() == len(sim_contacts(fresh_sim, "alice"))


@pytest.mark.django_db(transaction=True)
def test_the_next_sync_takes_over_a_claim_that_ran_out_and_records_why(fresh_sim, link_agent):
    import datetime as dt

    from django.utils import timezone

    from crm.agents.sync import WORKER_STOPPED, sync_state_claim

    alice = link_agent("alice")
    SyncState.objects.create(account=alice, resource="contacts", status="running", claim_token="dead",
                             claimed_until=timezone.now() - dt.timedelta(seconds=1))
    state, _token = sync_state_claim(account=alice, resource="contacts")
    assert state.status == "running" and state.last_error == WORKER_STOPPED and state.last_failed_at


def test_only_what_the_agent_types_is_refused_over_75_characters():
    from contacts_app.forms import BulkForm, TagForm

    assert not TagForm({"tag": "x" * 76}).is_valid()
    assert TagForm({"tag": "x" * 75}).is_valid()
    assert "tag" in BulkForm({"action": "tag_add", "ids": "1", "tag": "x" * 76}).errors
