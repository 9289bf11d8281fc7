"""The broker's admin against the real stack: brokers see across agents and act through the services; agents are
refused; the audit log records every source and cannot be edited."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from contacts_app import services
from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.agents.models import AgentDirectoryEntry, OfficeMember, SparkAccount, SyncState
from crm.outbox.models import AuditEvent, SparkWrite
from tests.conftest import wait_for

CHANGELIST = "/admin/contacts_app/{}/"


def ensure_broker_group() -> Group:
    # A transactional test flushes the database (and with it the migration's data); put the group back.
    migration = importlib.import_module("contacts_app.migrations.0004_broker_group")
    migration.broker_group_create(django_apps)
    importlib.import_module("contacts_app.migrations.0006_broker_unlocks_logins").broker_unlock_grant(django_apps)
    importlib.import_module("contacts_app.migrations.0010_broker_people").broker_people_grant(django_apps)
    return Group.objects.get(name="Broker")


def make_broker(username: str, *, office_id: str = "", office_name: str = "", mls_wide: bool = False):
    user = get_user_model().objects.create_user(username, password=f"pw-{username}", first_name=username.title(),
                                                last_name="Broker", is_staff=True)
    user.groups.add(ensure_broker_group())
    OfficeMember.objects.create(user=user, office_id=office_id, office_name=office_name, mls_wide=mls_wide)
    return user


@pytest.fixture
def broker(db):
    """An MLS-admin broker: sees every office (office scoping has its own tests in test_people.py)."""
    return make_broker("brenda", mls_wide=True)


@pytest.fixture
def broker_client(broker):
    client = Client()
    client.force_login(broker)
    return client


def action(client, model: str, name: str, ids, **extra):
    return client.post(CHANGELIST.format(model), {"action": name, "_selected_action": [str(i) for i in ids], **extra})


def sim_owner(sim, spark_id: str) -> str:
    return sim.control("GET", f"/_sim/contacts/{spark_id}").json()["OwnerId"]


def settled(ids):
    return lambda: not SparkWrite.objects.filter(pk__in=ids, status__in=SparkWrite.OPEN).exists()


@pytest.fixture
def alice(fresh_sim, link_agent):
    account = link_agent("alice")
    contacts_sync(account=account, full=True)
    return account


# -- people ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_migration_creates_the_broker_group_with_view_and_action_permissions_only():
    group = ensure_broker_group()
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_contact", "view_sparkaccount", "view_sparkwrite", "view_auditevent", "view_bulkjob",
            "transfer_contact", "resync_sparkaccount", "offboard_sparkaccount", "retry_sparkwrite",
            "discard_sparkwrite"} <= codenames
    # The one delete a broker has is the unlock of a locked-out login (axes' access attempts).
    assert {"view_accessattempt", "delete_accessattempt"} <= codenames
    # And the one add: an agent's login, made by the Agents page's own form through people.agent_add.
    assert {"view_agent", "add_agent", "disable_agent", "reset_agent_password"} <= codenames
    assert not [c for c in codenames - {"delete_accessattempt", "add_agent"}
                if c.startswith(("add_", "change_", "delete_"))]


@pytest.mark.django_db
def test_an_agent_logs_in_to_the_app_but_the_admin_refuses_them(link_agent):
    alice = link_agent("alice")
    assert not alice.user.is_staff
    client = Client()
    assert client.login(username="alice", password="pw-alice")
    assert client.get("/contacts/").status_code == 200
    resp = client.get("/admin/")
    assert resp.status_code == 302 and resp["Location"].startswith("/admin/login/")
    assert client.get(CHANGELIST.format("contact")).status_code == 302

    resp = Client().post("/admin/login/?next=/admin/", {"username": "alice", "password": "pw-alice"})
    assert resp.status_code == 200
    assert "correct username and password for a staff account" in resp.content.decode()


@pytest.mark.django_db
def test_broker_sees_agents_with_office_link_status_and_last_sync_but_never_their_secrets(
        fresh_sim, link_agent, broker_client):
    alice, dave = link_agent("alice"), link_agent("dave")
    contacts_sync(account=alice, full=True)
    SparkAccount.objects.filter(pk=dave.pk).update(link_status="broken", link_error="Session expired")

    page = broker_client.get(CHANGELIST.format("sparkaccount")).content.decode()
    assert "Alice" in page and "Red River Realty" in page and "Prairie Home Partners" in page
    assert "Needs reconnecting" in page and "Linked" in page
    assert "ago" in page and "Never" in page  # alice synced, dave never
    only_dave = broker_client.get(CHANGELIST.format("sparkaccount") + "?q=prairie").content.decode()
    assert "Dave" in only_dave and "Alice" not in only_dave

    detail = broker_client.get(f"/admin/agents/sparkaccount/{alice.pk}/change/").content.decode()
    assert alice.spark_user_id in detail and "Red River Realty" in detail
    for secret in (alice.api_key, alice.api_secret, alice.api_secret_encrypted):
        assert secret and secret not in detail
    assert "Save" not in detail  # read-only
    assert broker_client.post(f"/admin/agents/sparkaccount/{alice.pk}/change/",
                              {"name": "Renamed"}).status_code == 403


# -- contacts -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_broker_searches_and_filters_the_store_across_agents(fresh_sim, link_agent, broker_client):
    alice, dave = link_agent("alice"), link_agent("dave")
    contacts_sync(account=alice, full=True)
    contacts_sync(account=dave, full=True)
    url = CHANGELIST.format("contact")
    target = Contact.objects.filter(owner=dave).exclude(primary_email="").first()

    found = broker_client.get(url, {"q": target.primary_email.split("@")[0].upper()}).content.decode()
    assert target.display_name in found
    by_id = broker_client.get(url, {"q": target.spark_id}).content.decode()
    assert target.display_name in by_id

    def names(params) -> set[str]:
        resp = broker_client.get(url, {**params, "all": ""})
        assert resp.status_code == 200
        return {c.display_name for c in resp.context["cl"].result_list}

    assert names({"owner__id__exact": dave.pk}) == set(Contact.objects.filter(owner=dave)
                                                       .values_list("display_name", flat=True))
    assert names({"office": alice.office_id}) == set(Contact.objects.filter(owner=alice)
                                                     .values_list("display_name", flat=True))
    tag = next(t for c in Contact.objects.filter(owner=alice) for t in c.tags)
    assert names({"tag": tag}) == set(Contact.objects.filter(tags__contains=[tag]).values_list("display_name", flat=True))
    assert names({"record_status__exact": "Unconnected"}) == set(
        Contact.objects.filter(record_status="Unconnected").values_list("display_name", flat=True))
    hot = names({"band": "hot"})
    assert hot and hot == set(Contact.objects.filter(relative_score__gte=0.66).values_list("display_name", flat=True))

    assert broker_client.get("/admin/contacts_app/contact/add/").status_code == 403
    resp = broker_client.post(f"/admin/contacts_app/contact/{target.pk}/change/", {"display_name": "X"})
    assert resp.status_code == 403


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_broker_transfers_selected_contacts_within_the_office_with_the_owners_link(
        fresh_sim, alice, link_agent, broker, broker_client, celery_worker_proc):
    bob = link_agent("bob")
    picked = list(Contact.objects.filter(owner=alice, record_status="Connected").order_by("pk")[:2])
    ids = [c.pk for c in picked]

    page = action(broker_client, "contact", "transfer_contacts", ids)
    assert page.status_code == 200
    text = page.content.decode()
    assert "2 contacts selected" in text and bob.name in text and picked[0].display_name in text

    missing = action(broker_client, "contact", "transfer_contacts", ids, apply="1", target="")
    assert missing.status_code == 422 and "Choose the agent to move them to." in missing.content.decode()

    resp = action(broker_client, "contact", "transfer_contacts", ids, apply="1", target=bob.spark_user_id)
    assert resp.status_code == 302
    writes = list(SparkWrite.objects.filter(kind="transfer", contact_id__in=ids))
    assert len(writes) == 2
    assert {(w.account_id, w.source, w.created_by_id) for w in writes} == {(alice.pk, "admin", broker.pk)}
    wait_for(settled([w.pk for w in writes]), timeout=30, message="the transfers to settle")
    for c in picked:
        assert sim_owner(fresh_sim, c.spark_id) == bob.spark_user_id
    events = AuditEvent.objects.filter(write__in=writes, source="admin")
    assert events.count() == 2 and {e.actor_id for e in events} == {broker.pk}
    assert {e.after["OwnerId"] for e in events} == {bob.spark_user_id}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_transfer_to_another_office_is_sent_with_the_mls_admins_link(
        fresh_sim, alice, link_agent, broker_client, celery_worker_proc):
    dave = link_agent("dave")
    contact = Contact.objects.filter(owner=alice, record_status="Connected").first()

    SparkAccount.objects.filter(mls_admin=True).delete()
    refused = action(broker_client, "contact", "transfer_contacts", [contact.pk], apply="1",
                     target=dave.spark_user_id)
    assert refused.status_code == 302
    text = broker_client.get(CHANGELIST.format("contact")).content.decode()
    assert "only the MLS admin may transfer across offices" in text
    assert not SparkWrite.objects.filter(contact=contact).exists()

    mona = link_agent("mona")
    action(broker_client, "contact", "transfer_contacts", [contact.pk], apply="1", target=dave.spark_user_id)
    write = SparkWrite.objects.get(contact=contact, kind="transfer")
    assert write.account_id == mona.pk and write.source == "admin"
    wait_for(settled([write.pk]), timeout=30, message="the transfer to settle")
    write.refresh_from_db()
    assert write.status == "confirmed", write.spark_message
    assert sim_owner(fresh_sim, contact.spark_id) == dave.spark_user_id
    assert not Contact.objects.filter(pk=contact.pk).exists()  # it left alice's store


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_broker_resyncs_selected_agents_and_refreshes_the_directory(
        fresh_sim, alice, broker_client, celery_worker_proc):
    gone = Contact.objects.filter(owner=alice).first()
    fresh_sim.control("DELETE", f"/_sim/contacts/{gone.spark_id}")
    before = SyncState.objects.get(account=alice, resource="contacts").last_success_at

    resp = action(broker_client, "sparkaccount", "resync_agents", [alice.pk])
    assert resp.status_code == 302
    wait_for(lambda: SyncState.objects.get(account=alice, resource="contacts").last_success_at != before,
             timeout=30, message="the resync to finish")
    assert not Contact.objects.filter(pk=gone.pk).exists()  # the full sync took Spark's copy

    contact = Contact.objects.filter(owner=alice).first()
    page = action(broker_client, "contact", "transfer_contacts", [contact.pk], apply="1", refresh_directory="1")
    assert page.status_code == 200 and "Refreshing the agent directory" in page.content.decode()
    wait_for(lambda: AgentDirectoryEntry.objects.filter(office_id=alice.office_id).count() >= 3, timeout=30,
             message="the directory refresh")
    page = action(broker_client, "contact", "transfer_contacts", [contact.pk]).content.decode()
    assert "Carol" in page  # carol has no login here; the directory lists her as a target


# -- writes ---------------------------------------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_broker_filters_failed_writes_retries_and_discards_with_a_kept_reason(
        fresh_sim, alice, broker, broker_client, celery_worker_proc):
    contacts = list(Contact.objects.filter(owner=alice, record_status="Connected").order_by("pk")[:2])
    bad = [services.contact_update(account=alice, user=alice.user, contact=c, changes={"NotAField": "x"})
           for c in contacts]
    wait_for(lambda: SparkWrite.objects.filter(pk__in=[w.pk for w in bad], status="failed").count() == 2,
             timeout=30, message="the writes to fail")

    listing = broker_client.get(CHANGELIST.format("sparkwrite"), {"status__exact": "failed", "age": "1h",
                                                                  "kind__exact": "update"})
    assert {w.pk for w in listing.context["cl"].result_list} == {w.pk for w in bad}
    assert "NotAField" in listing.content.decode()  # Spark's message
    old = broker_client.get(CHANGELIST.format("sparkwrite"), {"status__exact": "failed", "age": "old"})
    assert list(old.context["cl"].result_list) == []

    retried = bad[0]
    assert action(broker_client, "sparkwrite", "retry_writes", [retried.pk]).status_code == 302
    assert AuditEvent.objects.filter(write=retried, outcome="retried", source="admin", actor=broker).exists()
    wait_for(lambda: SparkWrite.objects.get(pk=retried.pk).status == "failed"
             and SparkWrite.objects.get(pk=retried.pk).attempts >= 1, timeout=30, message="the retry to settle")

    ask = action(broker_client, "sparkwrite", "discard_writes", [w.pk for w in bad])
    assert ask.status_code == 200 and "Reason" in ask.content.decode()
    empty = action(broker_client, "sparkwrite", "discard_writes", [w.pk for w in bad], apply="1", reason="  ")
    assert empty.status_code == 422 and "Give the reason for discarding" in empty.content.decode()
    assert SparkWrite.objects.filter(pk__in=[w.pk for w in bad], status="failed").count() == 2

    reason = "Field retired in flexmls; agreed with Alice"
    action(broker_client, "sparkwrite", "discard_writes", [w.pk for w in bad], apply="1", reason=reason)
    for w in bad:
        w.refresh_from_db()
        assert w.status == "discarded" and w.discard_reason == reason
        assert AuditEvent.objects.filter(write=w, outcome="discarded", source="admin", actor=broker,
                                         message=reason).exists()
    shown = broker_client.get(CHANGELIST.format("sparkwrite"), {"status__exact": "discarded"}).content.decode()
    assert reason in shown


# -- audit ----------------------------------------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_audit_log_records_a_change_from_each_source_and_no_one_edits_it(
        fresh_sim, alice, link_agent, broker, broker_client, celery_worker_proc):
    bob = link_agent("bob")
    c1, c2, c3, c4 = Contact.objects.filter(owner=alice, record_status="Connected").order_by("pk")[:4]
    agent = Client()
    agent.force_login(alice.user)
    agent.post(f"/contacts/{c1.pk}/tags/add/", {"tag": "From The Page"})                      # page
    agent.post("/contacts/bulk/", {"action": "tag_add", "ids": f"{c2.pk},{c3.pk}", "tag": "From Bulk"})  # bulk
    action(broker_client, "contact", "transfer_contacts", [c4.pk], apply="1", target=bob.spark_user_id)  # admin
    wait_for(lambda: SparkWrite.objects.filter(created_at__isnull=False).count() == 4
             and not SparkWrite.objects.filter(status__in=SparkWrite.OPEN).exists(),
             timeout=40, message="every write to settle")                                   # system: outcomes

    def rows(source):
        resp = broker_client.get(CHANGELIST.format("auditevent"), {"source__exact": source})
        assert resp.status_code == 200
        return list(resp.context["cl"].result_list), resp.content.decode()

    page_rows, html = rows("page")
    assert [(e.contact_name, e.after.get("Tags", [])[-1]) for e in page_rows] == [(c1.display_name, "From The Page")]
    assert "Alice" in html and "(agent)" in html
    bulk_rows, _ = rows("bulk")
    assert {e.contact_name for e in bulk_rows} == {c2.display_name, c3.display_name}
    admin_rows, html = rows("admin")
    assert [(e.contact_name, e.before["OwnerId"], e.after["OwnerId"]) for e in admin_rows] == [
        (c4.display_name, alice.spark_user_id, bob.spark_user_id)]
    assert "Brenda Broker (broker)" in html
    system_rows, html = rows("system")
    assert len(system_rows) == 4 and {e.outcome for e in system_rows} == {"confirmed"}
    assert "(system)" in html and "Confirmed by Spark" in html

    event = admin_rows[0]
    detail = broker_client.get(f"/admin/outbox/auditevent/{event.pk}/change/").content.decode()
    assert bob.spark_user_id in detail and "Confirmed" in detail and "Save" not in detail
    assert broker_client.get("/admin/outbox/auditevent/add/").status_code == 403
    assert broker_client.post(f"/admin/outbox/auditevent/{event.pk}/change/", {"message": "x"}).status_code == 403
    assert broker_client.post(f"/admin/outbox/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    deleting = action(broker_client, "auditevent", "delete_selected", [event.pk], post="yes")
    assert AuditEvent.objects.filter(pk=event.pk).exists() and deleting.status_code in (200, 302)
    assert 'value="delete_selected"' not in broker_client.get(CHANGELIST.format("auditevent")).content.decode()
    # a superuser cannot either
    root = get_user_model().objects.create_superuser("root", password="pw-root")
    su = Client()
    su.force_login(root)
    assert su.post(f"/admin/outbox/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    with pytest.raises(ValueError):
        event.save()

    # the agent's own contact page shows the part about the contact
    detail = agent.get(f"/contacts/{c1.pk}/").content.decode()
    assert "From The Page" in detail


# -- credentials ----------------------------------------------------------------------------------------------------


CREDENTIAL_LOOKUPS = ["api_key__startswith", "api_key", "api_key__regex", "api_key__gte", "api_secret_encrypted__startswith",
                      "access_token_encrypted__startswith", "refresh_token_encrypted__startswith",
                      "token_expires_at__isnull", "user__password__startswith"]


@pytest.fixture
def alice_with_tokens(fresh_sim, link_agent):
    from crm import crypto

    alice = link_agent("alice")
    link_agent("dave")
    SparkAccount.objects.filter(pk=alice.pk).update(access_token_encrypted=crypto.encrypt("at-secret-1"),
                                                    refresh_token_encrypted=crypto.encrypt("rt-secret-1"))
    alice.refresh_from_db()
    return alice


@pytest.mark.django_db
def test_no_lookup_on_a_credential_reaches_the_changelist_so_no_count_leaks_a_key(alice_with_tokens, broker_client):
    alice = alice_with_tokens
    url = CHANGELIST.format("sparkaccount")
    values = {"api_key": alice.api_key, "api_secret_encrypted": alice.api_secret_encrypted,
              "access_token_encrypted": alice.access_token_encrypted,
              "refresh_token_encrypted": alice.refresh_token_encrypted, "user": "pbkdf2", "token": "False"}
    for lookup in CREDENTIAL_LOOKUPS:
        field = next(name for name in values if lookup.startswith(name))
        for guess in (values[field][:1], "~"):  # a right and a wrong first character: both refused alike
            resp = broker_client.get(url, {lookup: guess})
            assert resp.status_code == 400, (lookup, guess, resp.status_code)


@pytest.mark.django_db
def test_search_and_ordering_never_touch_credentials(alice_with_tokens, broker_client):
    alice = alice_with_tokens
    url = CHANGELIST.format("sparkaccount")
    everyone = broker_client.get(url).context["cl"].result_count
    assert everyone == 2
    for term in (alice.api_key, alice.api_key[:3], alice.api_secret_encrypted[:8]):
        assert broker_client.get(url, {"q": term}).context["cl"].result_count == 0
    for order in ("api_key", "-api_key", "api_secret_encrypted", "99"):
        resp = broker_client.get(url, {"o": order})
        assert resp.status_code == 200 and resp.context["cl"].result_count == everyone


@pytest.mark.django_db
def test_a_new_admin_that_lists_credentials_is_made_safe_by_the_mixin(alice_with_tokens, broker):
    """An admin someone adds later, careless about credentials: the shared base still refuses them everywhere."""
    from django.contrib import admin as django_admin
    from django.test import RequestFactory

    from contacts_app.admin.base import ReadOnlyAdmin

    class CarelessAdmin(ReadOnlyAdmin):
        list_display = ("name", "api_key", "access_token_encrypted")
        list_filter = ("api_key", "auth_mode")
        search_fields = ("name", "api_key", "=api_secret_encrypted", "user__password")
        ordering = ("api_key", "name")
        sortable_by = ("name", "api_key")

    model_admin = CarelessAdmin(SparkAccount, django_admin.site)
    request = RequestFactory().get("/")
    request.user = broker
    assert model_admin.get_list_display(request) == ["name"]
    assert model_admin.get_list_filter(request) == ["auth_mode"]
    assert model_admin.get_search_fields(request) == ["name"]
    assert model_admin.get_ordering(request) == ["name"]
    assert model_admin.get_sortable_by(request) == ["name"]
    assert not model_admin.lookup_allowed("api_key__startswith", "a", request)
    assert not model_admin.lookup_allowed("user__password__startswith", "p", request)
    form_fields = model_admin.get_form(request, alice_with_tokens).base_fields
    assert not {"api_key", "api_secret_encrypted", "access_token_encrypted", "refresh_token_encrypted"} & set(form_fields)


@pytest.mark.django_db
def test_every_registered_admin_is_credential_safe_and_users_password_hash_is_not_searchable():
    from django.contrib import admin as django_admin

    from crm.admin_credentials import CredentialSafeAdmin, check_admins_are_credential_safe

    assert check_admins_are_credential_safe() == []
    assert all(isinstance(a, CredentialSafeAdmin) for a in django_admin.site._registry.values())
    root = get_user_model().objects.create_superuser("root", password="pw-root")
    client = Client()
    client.force_login(root)
    assert client.get("/admin/auth/user/", {"password__startswith": "pbkdf2"}).status_code == 400


@pytest.mark.django_db
def test_the_change_page_shows_the_api_key_masked_to_its_last_four(alice_with_tokens, broker_client):
    alice = alice_with_tokens
    detail = broker_client.get(f"/admin/agents/sparkaccount/{alice.pk}/change/").content.decode()
    assert "API key" in detail and "••••" + alice.api_key[-4:] in detail
    for secret in (alice.api_key, alice.api_key[:-4], alice.api_secret, alice.api_secret_encrypted,
                   alice.access_token_encrypted, alice.refresh_token_encrypted, "at-secret-1", "rt-secret-1"):
        assert secret not in detail
