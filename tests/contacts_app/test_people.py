"""A broker's people in the admin: office scoping (never another office's agents, by list or by URL), adding an agent
with a one-time password link, disabling a login (refused with a clear message, queued changes kept), the FlexCRM
admin's grouped index and help text."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from contacts_app import services
from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.agents.models import OfficeMember
from crm.outbox.models import AuditEvent, SparkWrite
from tests.contacts_app.test_admin import action, make_broker

AGENTS = "/admin/agents/agent/"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def office_world(fresh_sim, link_agent):
    """alice (Red River Realty, synced, one queued change) and dave (Prairie Home Partners, synced)."""
    alice, dave = link_agent("alice"), link_agent("dave")
    for account in (alice, dave):
        contacts_sync(account=account, full=True)
    return alice, dave


@pytest.mark.django_db
def test_a_broker_sees_only_their_office_by_list_and_by_url(office_world):
    alice, dave = office_world
    red = client_for(make_broker("rita", office_id=alice.office_id, office_name=alice.office_name))
    dave_contact = Contact.objects.filter(owner=dave).first()
    dave_write = services.write_record(account=dave, user=dave.user, contact=dave_contact, kind=SparkWrite.Kind.TAG_ADD,
                                       payload={"tag": "Prairie"}, source="page")

    page = red.get(AGENTS).content.decode()
    assert "Alice Anderson" in page and "Dave" not in page
    assert f"Agents — {alice.office_name}" in page
    assert "fresh activity: " in page and "% of " in page  # coverage column
    # By URL: the other office's agent, flexmls link, contacts and changes are "not found".
    for url in (f"{AGENTS}{dave.user.pk}/change/", f"/admin/agents/sparkaccount/{dave.pk}/change/",
                f"/admin/contacts_app/contact/{dave_contact.pk}/change/"):
        resp = red.get(url)
        assert resp.status_code == 302 and resp["Location"] == "/admin/", url
    assert red.get(f"{AGENTS}{alice.user.pk}/change/").status_code == 200
    contacts = red.get("/admin/contacts_app/contact/?q=" + dave_contact.display_name[:6]).content.decode()
    assert dave_contact.display_name not in contacts
    assert "Dave" not in red.get("/admin/contacts_app/contact/").content.decode()  # not even in the owner filter
    assert red.get(f"/admin/outbox/sparkwrite/{dave_write.pk}/change/").status_code == 302
    assert dave_contact.display_name not in red.get("/admin/outbox/sparkwrite/").content.decode()
    assert dave_contact.display_name not in red.get("/admin/outbox/auditevent/").content.decode()
    # An action posted with the other office's id does nothing to it.
    action(red, "agent", "disable_logins", [dave.user.pk])
    assert get_user_model().objects.get(pk=dave.user.pk).is_active

    # An MLS-admin broker and a superuser see every office; a broker bound to none sees no one.
    mls = client_for(make_broker("mike", mls_wide=True)).get(AGENTS).content.decode()
    assert "Alice Anderson" in mls and "Dave Dawson" in mls
    root = get_user_model().objects.create_superuser("root", password="pw-root")
    assert "Dave Dawson" in client_for(root).get(AGENTS).content.decode()
    lost = get_user_model().objects.create_user("lost", password="pw-lost", is_staff=True)
    lost.groups.add(make_broker("tmp").groups.first())
    page = client_for(lost).get(AGENTS).content.decode()
    assert "not bound to an office" in page and "Alice Anderson" not in page


@pytest.mark.django_db
def test_the_admin_is_flexcrms_grouped_by_what_a_broker_does_with_help_on_each_page(office_world):
    alice, _ = office_world
    red = client_for(make_broker("rita", office_id=alice.office_id, office_name=alice.office_name))
    index = red.get("/admin/").content.decode()
    assert "Django administration" not in index and "FlexCRM" in index
    found = [m for m in ("People", "Contacts", "Changes sent to flexmls", "Audit log", "Sync health")
             if f">{m}</a>" in index]
    assert found == ["People", "Contacts", "Changes sent to flexmls", "Audit log", "Sync health"]
    assert index.index(">People</a>") < index.index(">Sync health</a>")
    assert "Spark writes" not in index and "Agents" in index and "Office directory" in index
    for model in ("agent", "contact", "sparkwrite", "auditevent", "bulkjob", "syncstate", "agentdirectoryentry",
                  "sparkaccount"):
        page = red.get(f"/admin/contacts_app/{model}/").content.decode()
        assert 'id="page-help"' in page, model


@pytest.mark.django_db
def test_a_broker_adds_an_agent_who_sets_a_password_once_with_the_link(office_world):
    alice, _ = office_world
    rita = make_broker("rita", office_id=alice.office_id, office_name=alice.office_name)
    red = client_for(rita)
    form = red.get(f"{AGENTS}add/").content.decode()
    assert "brokerage key" in form  # why linking from the directory is not offered in the demo
    resp = red.post(f"{AGENTS}add/", {"username": "alice", "first_name": "Al", "office": alice.office_id,
                                      "link": "oauth"})
    assert resp.status_code == 422 and "That login is taken" in resp.content.decode()
    resp = red.post(f"{AGENTS}add/", {"username": "zoe", "first_name": "Zoe", "last_name": "Zimmer",
                                      "email": "zoe@example.com", "office": alice.office_id, "link": "oauth"})
    assert resp.status_code == 200, resp.content.decode()[:1000]
    link = re.search(r'class="one-time-link">([^<]+)<', resp.content.decode()).group(1)
    zoe = get_user_model().objects.get(username="zoe")
    assert not zoe.has_usable_password() and not zoe.is_staff
    assert OfficeMember.objects.get(user=zoe).office_id == alice.office_id
    assert "Zoe Zimmer" in red.get(AGENTS).content.decode()  # in the office before any flexmls link
    assert AuditEvent.objects.filter(action="agent_added", actor=rita).exists()

    path = link.split("testserver", 1)[1]
    agent = Client()
    form_page = agent.get(path, follow=True)
    assert "Set your password" in form_page.content.decode()
    agent.post(form_page.redirect_chain[-1][0], {"new_password1": "zoe-new-pass-2026",
                                                 "new_password2": "zoe-new-pass-2026"})
    assert Client().post("/login/", {"username": "zoe", "password": "zoe-new-pass-2026"}).status_code == 302
    assert "has been used or has expired" in Client().get(path, follow=True).content.decode()


@pytest.mark.django_db
def test_a_disabled_agent_is_refused_with_a_clear_message_and_their_queued_changes_are_kept(office_world):
    alice, _ = office_world
    red = client_for(make_broker("rita", office_id=alice.office_id, office_name=alice.office_name))
    contact = Contact.objects.filter(owner=alice).first()
    session = Client()
    assert session.login(username="alice", password="pw-alice")
    write = services.write_record(account=alice, user=alice.user, contact=contact, kind=SparkWrite.Kind.TAG_ADD,
                                  payload={"tag": "Kept"}, source="page")

    resp = action(red, "agent", "disable_logins", [alice.user.pk])
    assert resp.status_code == 302
    assert "queued change" in red.get(AGENTS).content.decode()
    alice.user.refresh_from_db()
    assert not alice.user.is_active
    assert SparkWrite.objects.get(pk=write.pk).status in SparkWrite.OPEN  # kept
    assert session.get("/contacts/").status_code == 302  # the open session is gone too
    refused = Client().post("/login/", {"username": "alice", "password": "pw-alice"})
    assert refused.status_code == 200 and "disabled by your broker" in refused.content.decode()
    wrong = Client().post("/login/", {"username": "alice", "password": "nope"}).content.decode()
    assert "disabled" not in wrong  # a wrong password learns nothing
    assert AuditEvent.objects.filter(action="login_disabled", account=alice).exists()

    action(red, "agent", "enable_logins", [alice.user.pk])
    assert Client().post("/login/", {"username": "alice", "password": "pw-alice"}).status_code == 302


@pytest.mark.django_db
def test_reset_password_gives_a_one_time_link_and_the_old_password_stops_working(office_world):
    alice, _ = office_world
    red = client_for(make_broker("rita", office_id=alice.office_id, office_name=alice.office_name))
    page = action(red, "agent", "reset_passwords", [alice.user.pk]).content.decode()
    assert "one-time-link" in page and "/password/" in page
    assert Client().post("/login/", {"username": "alice", "password": "pw-alice"}).status_code == 200


@pytest.mark.django_db
def test_directory_refresh_is_its_own_action_and_returns_to_where_the_broker_was(office_world):
    alice, _ = office_world
    red = client_for(make_broker("rita", office_id=alice.office_id, office_name=alice.office_name))
    url = "/admin/agents/agentdirectoryentry/?o=1"
    resp = red.post(f"{AGENTS}refresh-directory/", {"next": url})
    assert resp.status_code == 302 and resp["Location"] == url
    resp = red.post(f"{AGENTS}refresh-directory/", {"next": "https://evil.example.com/"})
    assert resp["Location"] == AGENTS
    assert red.get(f"{AGENTS}refresh-directory/").status_code == 405

