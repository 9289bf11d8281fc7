"""Clients held by two or more agents: the broker's page under Contacts, office-scoped (a broker sees a client
only when two agents of their office hold it), "mark as intended" remembered with an audit event, and a transfer
that goes out through the outbox (a one-contact offboarding job) so that flexmls shows the new owner."""

from __future__ import annotations

import pytest
from django.test import Client

from contacts_app import offboarding, shared_clients
from contacts_app.models import Contact, SharedClientIntended
from contacts_app.sync import contacts_sync
from crm.outbox.models import AuditEvent, BulkJob, SparkWrite
from tests.conftest import wait_for
from tests.contacts_app.test_admin import make_broker, sim_owner

PAGE = "/admin/contacts_app/contact/shared/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def sim_contacts(sim, account) -> list[dict]:
    return [c for c in sim.control("GET", f"/_sim/contacts?owner={account.spark_user_id}").json()["contacts"]
            if c.get("PrimaryEmail")]


def plant(sim, holder, giver, email: str) -> tuple[dict, dict]:
    """As the agents would in flexmls: a contact of `holder` and one of `giver` both get `email`."""
    a, b = sim_contacts(sim, holder)[0], sim_contacts(sim, giver)[0]
    for c in (a, b):
        sim.control("PATCH", f"/_sim/contacts/{c['Id']}", json={"PrimaryEmail": email})
    return a, b


@pytest.fixture
def shared_world(fresh_sim, link_agent):
    """alice and bob (Red River Realty) share jo@shared.example; alice and dave (Prairie Home Partners, another
    office) share max@shared.example."""
    alice, bob, dave = link_agent("alice"), link_agent("bob"), link_agent("dave")
    same_office = plant(fresh_sim, alice, bob, "Jo@Shared.example ")
    a2 = sim_contacts(fresh_sim, alice)[1]  # another contact of alice, for the cross-office pair
    d = sim_contacts(fresh_sim, dave)[0]
    for c in (a2, d):
        fresh_sim.control("PATCH", f"/_sim/contacts/{c['Id']}", json={"PrimaryEmail": "max@shared.example"})
    for account in (alice, bob, dave):
        contacts_sync(account=account, full=True)
    assert shared_clients.shared_keys_refresh() >= 2  # the background check (beat, or "Check again")
    return alice, bob, dave, same_office


def groups_on(page: str) -> list[str]:
    return [line.split(":", 1)[1].split("—")[0].strip() for line in page.splitlines()
            if line.strip().startswith("<h2>E-mail:")]


@pytest.mark.django_db
def test_a_broker_sees_only_clients_two_agents_of_their_office_hold_and_marks_one_as_intended(shared_world, fresh_sim,
                                                                                              link_agent):
    alice, bob, dave, (a, b) = shared_world
    rita = make_broker("rita", office_id=alice.office_id, office_name=alice.office_name)
    red = client_for(rita)

    index = red.get("/admin/").content.decode()
    assert f'href="{PAGE}"' in index and "Clients held by two or more agents" in index
    page = red.get(PAGE).content.decode()
    assert groups_on(page) == ["jo@shared.example"]  # alice and dave's client is another office's
    assert a["DisplayName"] in page and b["DisplayName"] in page and "Alice Anderson" in page and "Bob Brooks" in page
    assert "Dave Dawson" not in page
    # The MLS-wide broker sees both.
    assert groups_on(client_for(make_broker("mike", mls_wide=True)).get(PAGE).content.decode()) == [
        "jo@shared.example", "max@shared.example"]

    # Another office's broker: the Red River group is not found, by a crafted POST too.
    pat = client_for(make_broker("pat", office_id=dave.office_id, office_name=dave.office_name))
    assert groups_on(pat.get(PAGE).content.decode()) == []
    assert pat.post(PAGE, {"kind": "email", "key": "jo@shared.example", "resolve": "intended"}).status_code == 404
    ours = Contact.objects.get(spark_id=a["Id"])
    resp = pat.post(PAGE, {"kind": "email", "key": "jo@shared.example", "resolve": "transfer", "contact": ours.pk,
                           "target": dave.pk})
    assert resp.status_code == 404 and not BulkJob.objects.exists()
    # Odd input is never a 500.
    for data in ({}, {"kind": "x", "key": "y"}, {"kind": "email", "key": "z" * 5000, "resolve": "intended"},
                 {"kind": "email", "key": "jo@shared.example", "resolve": "transfer", "contact": "abc",
                  "target": "-1"},
                 {"kind": "email", "key": "jo@shared.example", "resolve": "nonsense", "page": "zz"}):
        assert red.post(PAGE, data).status_code in (302, 404), data
    for query in ("?page=abc", "?page=-3", "?page=99999999999999999999", "?page=7"):
        assert red.get(PAGE + query).status_code == 200, query
    assert not BulkJob.objects.exists() and not SharedClientIntended.objects.exists()
    # An agent reaches no admin page.
    assert client_for(alice.user).get(PAGE).status_code == 302

    resp = red.post(PAGE, {"kind": "email", "key": "jo@shared.example", "resolve": "intended", "page": "1"})
    assert resp.status_code == 302
    page = red.get(PAGE).content.decode()
    assert groups_on(page) == [] and "Marked as intended" in page
    event = AuditEvent.objects.get(action="shared_intended")
    assert event.actor == rita and event.created_at is not None and "jo@shared.example" in event.message
    assert "Alice Anderson" in event.message and "Bob Brooks" in event.message
    # Remembered: a resync does not bring it back.
    for account in (alice, bob):
        contacts_sync(account=account, full=True)
    shared_clients.shared_keys_refresh()
    assert groups_on(red.get(PAGE).content.decode()) == []
    assert "Last checked" in red.get(PAGE).content.decode()
    assert "Marked as held by several agents on purpose" in red.get("/admin/outbox/auditevent/").content.decode()
    # A third agent's contact joining the key is a group the broker has not seen: it shows again.
    carol = link_agent("carol")
    c = sim_contacts(fresh_sim, carol)[0]
    fresh_sim.control("PATCH", f"/_sim/contacts/{c['Id']}", json={"PrimaryEmail": "jo@shared.example"})
    contacts_sync(account=carol, full=True)
    shared_clients.shared_keys_refresh()
    page = red.get(PAGE).content.decode()
    assert groups_on(page) == ["jo@shared.example"] and "Carol Chen" in page
    # The agents' own pages are unchanged: alice never sees bob's contact.
    assert b["DisplayName"] not in client_for(alice.user).get("/contacts/?q=shared.example").content.decode()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_transfer_goes_out_through_the_outbox_and_flexmls_shows_the_new_owner(shared_world, fresh_sim, start_worker):
    alice, bob, _, (a, b) = shared_world
    red = client_for(make_broker("rita", office_id=alice.office_id, office_name=alice.office_name))
    start_worker()
    bobs = Contact.objects.get(spark_id=b["Id"])
    resp = red.post(PAGE, {"kind": "email", "key": "jo@shared.example", "resolve": "transfer", "contact": bobs.pk,
                           "target": alice.pk, "page": "1"})
    assert resp.status_code == 302
    job = BulkJob.objects.get(params__offboarding=True)
    assert job.account == bob and job.contact_ids == [bobs.pk] and job.params["owner_name"] == alice.name
    message = red.get(PAGE).content.decode()
    assert f"/admin/outbox/bulkjob/{job.pk}/change/" in message and "Transferring" in message
    wait_for(lambda: BulkJob.objects.get(pk=job.pk).params.get("phase") == offboarding.Phase.DONE, timeout=60,
             message="the transfer job to finish")
    write = SparkWrite.objects.get(bulk_job=job)
    assert write.kind == SparkWrite.Kind.TRANSFER and write.status == SparkWrite.Status.CONFIRMED
    assert sim_owner(fresh_sim, b["Id"]) == alice.spark_user_id
    # The result is visible in the admin: the job page, and the group is gone once alice's sync brings it.
    job_page = red.get(f"/admin/outbox/bulkjob/{job.pk}/change/").content.decode()
    assert b["DisplayName"] in job_page
    wait_for(lambda: Contact.objects.filter(spark_id=b["Id"], owner=alice).exists(), timeout=60,
             message="alice's sync to bring the contact")
    assert "jo@shared.example" not in red.get(PAGE).content.decode().split('id="shared-count"')[1]

