"""Hostile upstream data and dying workers: what any client of Spark can write, and a worker killed in the middle
of a sync, never leave an agent's sync stopped or "running" for good."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from contacts_app.tasks import sync_agent_contacts, sync_all_agents
from crm.agents.models import SyncState
from crm.agents.spark import client_for_account
from crm.agents.sync import WORKER_STOPPED
from crm.spark.resources.savedsearches import saved_search_create, saved_search_list
from sharing_app.models import SavedSearch
from sharing_app.sync import sharing_sync
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _sim_ids(sim, account) -> set[str]:
    return {c["Id"] for c in sim.control("GET", f"/_sim/contacts?owner={account.spark_user_id}").json()["contacts"]}


def _state(account, resource: str = "contacts") -> SyncState:
    return SyncState.objects.get(account=account, resource=resource)


@pytest.mark.worker
def test_a_worker_killed_mid_sync_is_failed_by_the_next_beat_tick_and_the_sync_runs_again(fresh_sim, link_agent,
                                                                                        start_worker):
    alice = link_agent("alice")
    fresh_sim.faults(latency_ms=800)  # a sync of several pages, slow enough to be caught in the middle
    worker = start_worker()
    sync_agent_contacts.delay(alice.pk, True)
    wait_for(lambda: SyncState.objects.filter(account=alice, resource="contacts", status="running",
                                              progress_done__gt=0).exists(), timeout=60, message="a sync under way")
    worker.kill()
    fresh_sim.clear_faults()
    state = _state(alice)
    assert state.status == "running" and state.claimed_until > timezone.now()
    # Time passes beyond the dead worker's claim.
    SyncState.objects.filter(pk=state.pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))

    page = Client()
    assert page.login(username="alice", password="pw-alice")
    html = page.get(reverse("contacts:list")).content.decode()
    assert "syncing from flexmls" not in html and f"Last sync failed: {WORKER_STOPPED} — retrying" in html

    sync_all_agents()  # the beat's tick: the dead sync is failed with its reason, and queued again
    state = _state(alice)
    assert state.status == "failed" and state.last_error == WORKER_STOPPED and state.last_failed_at

    start_worker()
    wait_for(lambda: _state(alice).status == "idle" and _state(alice).last_success_at is not None, timeout=90,
             message="the sync run again to its end")
    assert set(Contact.objects.filter(owner=alice).values_list("spark_id", flat=True)) == _sim_ids(fresh_sim, alice)
    assert _state(alice).last_error == ""


def test_every_contact_imports_past_hostile_and_unstorable_records_on_several_pages(fresh_sim, link_agent):
    alice = link_agent("alice")
    ids = sorted(_sim_ids(fresh_sim, alice))
    huge = "x" * 200_000
    for n, spark_id in enumerate(ids[::7]):
        fresh_sim.control("PATCH", f"/_sim/contacts/{spark_id}", json={
            "DisplayName": f"\u0000{n}\u0007" + "\u001f" * 80, "Note": huge + "\u0000", "Tags": ["\u0000" * 3, "t" * 500],
        })
    unstorable = ["3" * 41, "4" * 80]
    for spark_id in unstorable:
        fresh_sim.control("POST", f"/_sim/agents/{alice.spark_user_id}/contacts/raw",
                          json={"Id": spark_id, "DisplayName": "Refused\u0000"})

    result = contacts_sync(account=alice, full=True)

    assert sorted(i for i, _ in result.skipped) == sorted(unstorable)
    assert set(Contact.objects.filter(owner=alice).values_list("spark_id", flat=True)) == set(ids)
    hostile = Contact.objects.get(spark_id=ids[0])
    assert hostile.display_name == "0" and hostile.tags == ["t" * 500] and hostile.attributes["Note"] == huge
    state = _state(alice)
    assert state.status == "idle" and state.skipped == 2
    assert all(i in state.skipped_detail for i in unstorable)


def test_sharing_sync_stores_a_saved_search_with_nul_in_its_name(fresh_sim, link_agent):
    alice = link_agent("alice")
    client = client_for_account(alice)
    existing = saved_search_list(client).items[0]
    made = saved_search_create(client, {"Name": "Hostile\u0000 search\u0007", "Filter": existing.filter,
                                        "Description": "from\u0000 elsewhere"})

    result = sharing_sync(account=alice, listings=False)

    assert result.errors == [] and result.skipped == []
    stored = SavedSearch.objects.get(spark_id=made)
    assert stored.name == "Hostile search" and stored.description == "from elsewhere"
    assert SavedSearch.objects.filter(account=alice).count() == len(saved_search_list(client).items)
    assert _state(alice, "sharing").status == "idle"


@pytest.mark.allows_tracebacks("the test plants a bug in the sync on purpose; the traceback is the expected log")
@pytest.mark.parametrize("resource", ["newsfeeds", "sharing"])
def test_other_syncs_stopped_by_an_unexpected_error_are_failed_not_left_running(fresh_sim, link_agent, monkeypatch,
                                                                                resource):
    from newsfeeds_app import sync as newsfeeds
    from sharing_app import sync as sharing

    alice = link_agent("alice")

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    if resource == "newsfeeds":
        monkeypatch.setattr(newsfeeds, "_contact_map", broken)
        run = lambda: newsfeeds.newsfeeds_sync(account=alice)  # noqa: E731
    else:
        monkeypatch.setattr(sharing, "saved_searches_sync", broken)
        run = lambda: sharing.sharing_sync(account=alice, listings=False)  # noqa: E731
    with pytest.raises(RuntimeError):
        run()
    state = _state(alice, resource)
    assert state.status == "failed" and "RuntimeError" in state.last_error and state.claim_token == ""
    monkeypatch.undo()
    assert run().ran and _state(alice, resource).status == "idle"
