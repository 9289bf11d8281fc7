"""The contact form, the refused-write decisions and the error pages, with Django's test client."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from contacts_app import selectors, views_site
from contacts_app.forms import ContactForm
from contacts_app.models import Contact
from contacts_app.selectors import ContactQuery
from crm.outbox.models import SparkWrite
from newsfeeds_app.forms import ScheduleForm

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(link_agent):
    return link_agent("alice")


@pytest.fixture
def bob(link_agent):
    return link_agent("bob")


def client_for(account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def contact(account, name: str, email: str = "", **kwargs) -> Contact:
    c = Contact(owner=account, display_name=name, primary_email=email, spark_id=kwargs.pop("spark_id", f"S-{name}"),
                **kwargs)
    c.refresh_search_text()
    c.save()
    return c


def failed_write(account, c: Contact | None, *, kind=SparkWrite.Kind.CREATE, status: int | None = 409,
                 code: int | None = 1055, payload: dict | None = None) -> SparkWrite:
    return SparkWrite.objects.create(
        account=account, contact=c, contact_name=c.display_name if c else "", kind=kind, payload=payload or {},
        status=SparkWrite.Status.FAILED, spark_status=status, spark_code=code,
        spark_message="The e-mail address 'x' belongs to another prospect" if status == 409 else "Refused")


# -- duplicate e-mail, caught before anything is queued ------------------------------------------------------------


def test_create_with_an_email_another_contact_has_is_refused_with_a_link_to_it(alice):
    amber = contact(alice, "Amber Nelson", "Amber.Nelson@Example.com")
    resp = client_for(alice).post("/contacts/new/", {"DisplayName": "Amber N", "PrimaryEmail": "amber.nelson@example.COM"})
    html = resp.content.decode()
    assert resp.status_code == 422
    assert "Amber Nelson already has this e-mail." in html
    assert f'href="/contacts/{amber.pk}/" id="duplicate-link"' in html
    assert not SparkWrite.objects.exists() and Contact.objects.filter(owner=alice).count() == 1


def test_a_secondary_email_counts_too(alice):
    contact(alice, "Amber Nelson", "amber@example.com", attributes={"SecondaryEmails": ["Work.Amber@Example.com"]})
    form = ContactForm({"DisplayName": "Someone", "PrimaryEmail": "work.amber@example.com"}, account=alice)
    assert not form.is_valid()
    assert form.errors["PrimaryEmail"] == ["Amber Nelson already has this e-mail."]
    assert form.duplicate.display_name == "Amber Nelson"


def test_another_agents_contact_and_a_refused_placeholder_do_not_count(alice, bob):
    contact(bob, "Bobs Client", "shared@example.com")
    contact(alice, "Never Created", "ghost@example.com", spark_id=None, write_state=Contact.WriteState.FAILED)
    assert ContactForm({"DisplayName": "A", "PrimaryEmail": "shared@example.com"}, account=alice).is_valid()
    assert ContactForm({"DisplayName": "B", "PrimaryEmail": "ghost@example.com"}, account=alice).is_valid()


def test_edit_keeps_its_own_email_but_may_not_take_another_contacts(alice):
    amber = contact(alice, "Amber Nelson", "amber@example.com")
    carl = contact(alice, "Carl Otto", "carl@example.com", attributes={"DisplayName": "Carl Otto",
                                                                      "PrimaryEmail": "carl@example.com"})
    client = client_for(alice)
    ok = client.post(f"/contacts/{carl.pk}/edit/", {"DisplayName": "Carl Otto", "PrimaryEmail": "CARL@example.com"})
    assert ok.status_code == 302
    refused = client.post(f"/contacts/{carl.pk}/edit/", {"DisplayName": "Carl Otto", "PrimaryEmail": "amber@example.com"})
    assert refused.status_code == 422 and "Amber Nelson already has this e-mail." in refused.content.decode()
    assert f"/contacts/{amber.pk}/" in refused.content.decode()
    assert not SparkWrite.objects.filter(kind=SparkWrite.Kind.UPDATE, payload__changes__PrimaryEmail="amber@example.com")


# -- a create Spark refused: out of the list, no retry, discard lands on the list ----------------------------------


def test_a_refused_create_is_left_out_of_the_list_and_of_all_matching(alice):
    kept = contact(alice, "Kept Contact", "kept@example.com")
    ghost = contact(alice, "Ghost Contact", "ghost@example.com", spark_id=None, write_state=Contact.WriteState.FAILED)
    pending = contact(alice, "Pending Create", "p@example.com", spark_id=None, write_state=Contact.WriteState.PENDING)
    listed = set(selectors.contact_list(account=alice, query=ContactQuery()).values_list("pk", flat=True))
    assert listed == {kept.pk, pending.pk}
    assert ghost.pk not in listed


@pytest.mark.parametrize(("status", "code", "retryable"), [
    (409, 1055, False), (403, 1500, False), (403, None, False), (400, 1053, True), (404, 404, True), (None, None, True),
])
def test_a_write_is_retryable_unless_spark_would_refuse_it_again(alice, status, code, retryable):
    assert failed_write(alice, None, status=status, code=code).retryable is retryable


def test_needs_attention_offers_no_retry_for_a_duplicate(alice):
    ghost = contact(alice, "Ghost Contact", "ghost@example.com", spark_id=None, write_state=Contact.WriteState.FAILED)
    dup = failed_write(alice, ghost)
    other = failed_write(alice, contact(alice, "Edited"), kind=SparkWrite.Kind.UPDATE, status=400, code=1053)
    html = client_for(alice).get("/contacts/attention/").content.decode()
    assert f"/contacts/changes/{dup.pk}/retry/" not in html and f"/contacts/changes/{dup.pk}/discard/" in html
    assert f"/contacts/changes/{other.pk}/retry/" in html
    assert "flexmls would refuse it again" in html


def test_retrying_a_duplicate_is_refused(alice):
    dup = failed_write(alice, contact(alice, "Ghost", spark_id=None, write_state=Contact.WriteState.FAILED))
    resp = client_for(alice).post(f"/contacts/changes/{dup.pk}/retry/", follow=True)
    assert "discard it instead" in resp.content.decode()
    dup.refresh_from_db()
    assert dup.status == SparkWrite.Status.FAILED and dup.attempts == 0


def test_discarding_a_refused_create_lands_on_the_list_with_a_message(alice):
    ghost = contact(alice, "Ghost Contact", "ghost@example.com", spark_id=None, write_state=Contact.WriteState.FAILED)
    dup = failed_write(alice, ghost)
    client = client_for(alice)
    resp = client.post(f"/contacts/changes/{dup.pk}/discard/", {"next": f"/contacts/{ghost.pk}/"})
    assert resp.status_code == 302 and resp["Location"] == "/contacts/"
    page = client.get("/contacts/")
    assert "Discarded Ghost Contact: flexmls never created this contact" in page.content.decode()
    assert not Contact.objects.filter(pk=ghost.pk).exists()


# -- error pages ---------------------------------------------------------------------------------------------------


def test_a_404_keeps_the_layout_and_navigation(alice):
    resp = client_for(alice).get("/contacts/999999/")
    html = resp.content.decode()
    assert resp.status_code == 404
    assert 'class="topbar"' in html and "Needs attention" in html and "Page not found" in html


def test_a_transferred_contacts_old_page_says_where_it_went_only_to_its_agent(alice, bob):
    amber = contact(alice, "Amber Nelson", "amber@example.com")
    pk = amber.pk
    SparkWrite.objects.create(
        account=alice, contact=amber, contact_name="Amber Nelson", kind=SparkWrite.Kind.TRANSFER,
        payload={"owner_id": bob.spark_user_id, "owner_name": "Bob Baker", "contact_pk": pk},
        status=SparkWrite.Status.CONFIRMED, confirmed_at=dt.datetime(2026, 11, 12, 15, tzinfo=dt.UTC))
    amber.delete()
    html = client_for(alice).get(f"/contacts/{pk}/").content.decode()
    assert "Amber Nelson was" in html and "transferred to Bob Baker" in html and "12 Nov 2026" in html
    other = client_for(bob).get(f"/contacts/{pk}/")
    assert other.status_code == 404 and "Amber Nelson" not in other.content.decode()


def test_a_deleted_contacts_old_page_says_so(alice):
    gone = contact(alice, "Dora Deleted")
    pk = gone.pk
    SparkWrite.objects.create(account=alice, contact=gone, contact_name="Dora Deleted", kind=SparkWrite.Kind.DELETE,
                              payload={"spark_id": gone.spark_id, "contact_pk": pk},
                              status=SparkWrite.Status.CONFIRMED, confirmed_at=timezone.now())
    gone.delete()
    html = client_for(alice).get(f"/contacts/{pk}/edit/").content.decode()
    assert "Dora Deleted was" in html and "deleted" in html


def test_the_500_page_renders_without_a_request_context():
    request = RequestFactory().get("/contacts/")  # no user, no session: the middleware may not have run
    resp = views_site.server_error(request)
    html = resp.content.decode()
    assert resp.status_code == 500 and "Something went wrong" in html and 'class="topbar"' in html


def test_the_403_page_keeps_the_layout(alice):
    request = RequestFactory().get("/admin/")
    request.user = alice.user
    resp = views_site.permission_denied(request)
    assert resp.status_code == 403 and "You can't open this page" in resp.content.decode()


# -- trend sorts -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["trend", "-trend"])
def test_contacts_without_a_trend_sort_last_both_ways(alice, sort):
    for name, trend in (("No Data", None), ("Up", 5), ("Down", -3), ("Flat", 0)):
        contact(alice, name, trend_7d=trend)
    names = [c.display_name for c in selectors.contact_list(account=alice, query=ContactQuery(sort=sort))]
    assert names[-1] == "No Data"
    assert names[0] == ("Down" if sort == "trend" else "Up")
    assert [c.trend_known for c in selectors.contact_list(account=alice, query=ContactQuery(sort=sort))][-1] is False


# -- news feed schedule: Instant takes no hours or days --------------------------------------------------------------


def test_instant_drops_hours_and_days_left_ticked():
    form = ScheduleForm({"default-frequency": "Instant", "default-hours": ["8"], "default-days_of_month": ["15"]},
                        prefix="default")
    assert form.is_valid(), form.errors
    assert form.choice.is_instant and not form.choice.has_timing
    scheduled = ScheduleForm({"default-frequency": "Scheduled", "default-hours": ["8"]}, prefix="default")
    assert scheduled.is_valid() and scheduled.choice.hours == (8,)


def test_a_phone_another_contact_has_is_a_warning_the_agent_may_save_past(alice):
    """Prevention with the finder's matcher: a phone (any format, last 10 digits) another of the agent's contacts
    has asks "is this the same person?" with a link to them; "Create anyway" creates it. An edit that keeps the
    contact's own phone is not asked; an office number many contacts share is not a match."""
    paula = contact(alice, "Paula Park", "paula@example.com", primary_phone="701-555-0142")
    client = Client()
    client.force_login(alice.user)
    form = {"DisplayName": "Paula P.", "MobilePhoneNumber": "+1 (701) 555-0142"}
    resp = client.post("/contacts/new/", form)
    page = resp.content.decode()
    assert resp.status_code == 422
    assert "Paula Park already has the phone +1 (701) 555-0142. Is this the same person?" in page
    assert f'href="/contacts/{paula.pk}/" id="same-phone-link"' in page and 'id="same-phone-save"' in page
    assert not Contact.objects.filter(display_name="Paula P.").exists()
    resp = client.post("/contacts/new/", {**form, "same_phone_ok": "1"})
    assert resp.status_code == 302
    created = Contact.objects.get(display_name="Paula P.")
    assert created.attributes["MobilePhoneNumber"] == "+1 (701) 555-0142"  # nothing of the warning sent along

    resp = client.post(f"/contacts/{paula.pk}/edit/", {"DisplayName": "Paula Parks", "PrimaryPhoneNumber":
                                                       "701-555-0142", "PrimaryEmail": "paula@example.com"})
    assert resp.status_code == 302  # its own phone, kept: no question

    for n in range(26):
        contact(alice, f"Office {n}", f"office{n}@example.com", primary_phone="701-555-9000")
    assert client.post("/contacts/new/", {"DisplayName": "New", "PrimaryPhoneNumber": "7015559000"}).status_code == 302
