"""The duplicates finder against real PostgreSQL: each reason, what is not a reason, "Not duplicates" remembered for
good, agents kept apart, hostile values, the claim, and the page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from contacts_app import duplicate_finder
from contacts_app.duplicate_models import DuplicateCheck, DuplicateDismissal, DuplicateGroup
from contacts_app.models import Contact

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


_n = iter(range(10**6))


def contact(account, name: str, email: str = "", phone: str = "", **attributes) -> Contact:
    c = Contact(owner=account, display_name=name, primary_email=email, primary_phone=phone,
                spark_id=f"D{next(_n)}", attributes=attributes)
    c.refresh_search_text()
    c.save()
    return c


def groups(account) -> list[tuple[set[int], list[str]]]:
    duplicate_finder.duplicates_recompute(account=account)
    return [(set(g.contact_ids), g.reasons) for g in DuplicateGroup.objects.filter(account=account).order_by("id")]


def test_trigger_keeps_the_keys_from_the_stored_fields(alice):
    c = contact(alice, "Jo Hansen", " Jo@Example.COM ", "+1 (701) 555-0100", SecondaryEmails=["jo@work.test", 7],
                MobilePhoneNumber="701.555.0199", WorkPhoneNumber="12")
    c.refresh_from_db()
    assert c.email_keys == ["jo@example.com", "jo@work.test"]
    assert c.phone_keys == ["7015550100", "7015550199"]
    c.attributes = {"SecondaryEmails": "not a list"}
    c.primary_email = ""
    c.save()
    c.refresh_from_db()
    assert c.email_keys == [] and c.phone_keys == ["7015550100"]


def test_same_email_primary_or_secondary_any_case(alice):
    a = contact(alice, "Jo Hansen", "jo@x.com")
    b = contact(alice, "Josephine Hansen-Berg", "other@y.org", SecondaryEmails=["JO@X.COM "])
    contact(alice, "Someone Else", "else@x.com")
    assert groups(alice) == [({a.pk, b.pk}, ["same e-mail jo@x.com"])]


def test_same_phone_last_ten_digits(alice):
    a = contact(alice, "Pat Lee", phone="+1 (512) 555-0100")
    b = contact(alice, "Kim Olson", MobilePhoneNumber="512-555-0100")
    contact(alice, "Short Number", phone="555-01")  # too few digits to be a number two people share
    contact(alice, "Other Short", phone="55501")
    assert groups(alice) == [({a.pk, b.pk}, ["same phone 512-555-0100"])]


def test_similar_names_need_a_shared_city_or_company_domain(alice):
    a = contact(alice, "Jon Smith", HomeLocality="Fargo")
    b = contact(alice, "John Smith", HomeLocality=" fargo ")
    contact(alice, "John Smith", HomeLocality="Bismarck")  # similar name, another city: not a reason
    c = contact(alice, "Katherine Jones", "kj@acme-realty.com")
    d = contact(alice, "Catherine Jones", "cjones@acme-realty.com")
    found = groups(alice)
    assert ({a.pk, b.pk}, ["similar names (0.62) and same city Fargo"]) in found
    assert ({c.pk, d.pk}, ["similar names (0.68) and same e-mail domain acme-realty.com"]) in found
    assert len(found) == 2


def test_similar_names_word_for_word_not_just_a_long_first_name(alice):
    a = contact(alice, "Kevin Aksenrud", HomeLocality="Fargo")
    b = contact(alice, "Kevin Akenrud", HomeLocality="Fargo")  # a letter dropped
    c = contact(alice, "Aksenrud, Kevin", HomeLocality="Fargo")  # the other order
    contact(alice, "Christopher Ershalgan", HomeLocality="Fargo")
    contact(alice, "Christopher Erseklind", HomeLocality="Fargo")  # the same long first name: someone else
    [(ids, reasons)] = groups(alice)
    assert ids == {a.pk, b.pk, c.pk} and all("same city Fargo" in r for r in reasons)


def test_free_mail_domains_are_not_a_reason(alice):
    contact(alice, "Jon Smith", "jon.smith1@gmail.com")
    contact(alice, "John Smith", "jsmith.home@GMAIL.com")
    contact(alice, "Mary Olson", "m1@yahoo.com")
    contact(alice, "Mary Olsen", "m2@yahoo.com")
    assert groups(alice) == []


def test_different_names_in_one_city_are_not_duplicates(alice):
    for name in ("Anna Berg", "Lars Nygaard", "Sven Olson", "Astrid Lindqvist", "Anna Bergstrom-Nilsen"):
        contact(alice, name, HomeLocality="Fargo")
    assert groups(alice) == []


def test_connected_pairs_make_one_group_with_every_reason(alice):
    a = contact(alice, "Jo Hansen", "jo@x.com")
    b = contact(alice, "Jo Hansen", "jo@x.com", "701-555-0100")
    c = contact(alice, "J. Hansen", phone="(701) 555-0100")
    [(ids, reasons)] = groups(alice)
    assert ids == {a.pk, b.pk, c.pk}
    assert reasons == ["same e-mail jo@x.com", "same phone 701-555-0100"]


def test_a_placeholder_shared_by_many_is_not_a_person(alice):
    for i in range(duplicate_finder.KEY_CAP + 1):
        contact(alice, f"Lead {i}", "noemail@none.com", "000-000-0000")
    assert groups(alice) == []


def test_not_duplicates_survives_every_recompute(alice):
    a = contact(alice, "Jo Hansen", "jo@x.com")
    b = contact(alice, "Joanne Hansen", "JO@x.com", HomeLocality="Fargo")
    [(ids, _)] = groups(alice)
    group = DuplicateGroup.objects.get(account=alice)
    resp = client_for(alice).post(f"/contacts/duplicates/{group.pk}/not-duplicates/", HTTP_HX_REQUEST="true")
    assert resp.status_code == 200 and resp.content == b""
    assert DuplicateDismissal.objects.filter(low=min(a.pk, b.pk), high=max(a.pk, b.pk)).exists()
    assert groups(alice) == []
    b.primary_phone = "701-555-0100"
    b.save()
    contact(alice, "Joe Hanson", phone="7015550100")  # a third one matching b: b and it are a group, not a with b
    [(ids, reasons)] = groups(alice)
    assert a.pk not in ids and b.pk in ids and reasons == ["same phone 701-555-0100"]


def test_a_group_keeps_its_id_across_checks_and_the_page_acts_on_what_it_showed(alice, bob):
    a = contact(alice, "Jo Hansen", "jo@x.com")
    b = contact(alice, "Jo Hansen", "JO@x.com")
    groups(alice)
    first = DuplicateGroup.objects.get(account=alice).pk
    groups(alice)
    assert DuplicateGroup.objects.get(account=alice).pk == first  # unchanged members: the same row
    c = contact(alice, "Jo Hansen", phone="701-555-0100")
    b.primary_phone = "7015550100"
    b.save()
    [(ids, _)] = groups(alice)  # redrawn with a third member while the page still shows the first group
    assert ids == {a.pk, b.pk, c.pk}
    client = client_for(alice)
    theirs = contact(bob, "Jo Hansen", "jo@x.com")
    assert client.post(f"/contacts/duplicates/{first}/not-duplicates/",
                       {"contact": [a.pk, theirs.pk]}).status_code == 404
    assert client.post(f"/contacts/duplicates/{first}/not-duplicates/", {"contact": ["x"]}).status_code == 404
    assert client.post(f"/contacts/duplicates/{first}/not-duplicates/", {"contact": [a.pk]}).status_code == 404
    resp = client.post(f"/contacts/duplicates/{first}/not-duplicates/", {"contact": [a.pk, b.pk]},
                       HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    [(ids, reasons)] = groups(alice)  # a and b: never again; b and c still share a phone
    assert ids == {b.pk, c.pk} and reasons == ["same phone 701-555-0100"]


def test_agents_never_see_each_others_contacts(alice, bob):
    contact(alice, "Jo Hansen", "jo@x.com")
    contact(bob, "Jo Hansen", "jo@x.com")
    b1 = contact(bob, "Pat Lee", "pat@x.com")
    b2 = contact(bob, "Pat Lee", "PAT@x.com")
    assert groups(alice) == []
    [(ids, _)] = groups(bob)
    assert ids == {b1.pk, b2.pk}
    bobs = DuplicateGroup.objects.get(account=bob)
    client = client_for(alice)
    page = client.get("/contacts/duplicates/")
    assert page.status_code == 200 and "Pat Lee" not in page.content.decode()
    assert client.post(f"/contacts/duplicates/{bobs.pk}/not-duplicates/").status_code == 404
    assert DuplicateGroup.objects.filter(pk=bobs.pk).exists() and not DuplicateDismissal.objects.exists()


@pytest.mark.parametrize("name", ["", " ", "‮evil‬", "😀😀😀", "李明", "O'Brien-Ærøskøbing", "x" * 75,
                                  "'; DROP TABLE x; --", "%_\\", "a b c d e f g h i j k l m n o p q r s t u v w x y"])
def test_hostile_values(alice, name):
    a = contact(alice, name, "same@acme.test", HomeLocality=name, WorkLocality=["not", "text"],
                SecondaryEmails=[None, {"x": 1}, name], MobilePhoneNumber=12345678901)
    b = contact(alice, name, HomeLocality=name)
    c = Contact.objects.create(owner=alice, display_name=name, spark_id=f"D{next(_n)}", attributes=["odd"])
    found = groups(alice)
    assert all(ids <= {a.pk, b.pk, c.pk} for ids, _ in found)
    page = client_for(alice).get("/contacts/duplicates/")
    assert page.status_code == 200


def test_the_page_shows_groups_side_by_side_and_never_computes(alice, django_assert_max_num_queries):
    a = contact(alice, "Jo Hansen", "jo@x.com", "701-555-0100", HomeLocality="Fargo", SecondaryEmails=["j@h.org"])
    a.tags, a.score = ["Buyer"], 42
    a.save()
    b = contact(alice, "Joanne Hansen", "JO@X.COM")
    client = client_for(alice)
    empty = client.get("/contacts/duplicates/").content.decode()
    assert "not been checked" in empty and "Jo Hansen" not in empty
    duplicate_finder.duplicates_recompute(account=alice)
    DuplicateCheck.objects.update_or_create(account=alice, defaults={"checked_at": timezone.now()
                                                                     - dt.timedelta(minutes=5)})
    with django_assert_max_num_queries(12):
        html = client.get("/contacts/duplicates/").content.decode()
    for text in ("same e-mail jo@x.com", "Jo Hansen", "Joanne Hansen", "j@h.org", "701-555-0100", "Fargo", "Buyer",
                 "42", f"/contacts/{a.pk}/", f"/contacts/{b.pk}/", "Last checked", "5\xa0minutes ago", "Not duplicates"):
        assert text in html, text
    assert "Possible duplicates" in client.get("/contacts/").content.decode()


def test_check_again_queues_and_shows_checking(alice, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("contacts_app.tasks.find_duplicates.delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        resp = client_for(alice).post("/contacts/duplicates/check/", HTTP_HX_REQUEST="true")
    assert resp.status_code == 200 and "Checking your contacts" in resp.content.decode()
    assert queued == [alice.pk]
    assert client_for(alice).get("/contacts/duplicates/check/").status_code == 405


def test_one_check_per_agent_at_once_and_a_second_ask_goes_round_again(alice):
    a = contact(alice, "Jo Hansen", "jo@x.com")
    assert duplicate_finder._claim(alice.pk)
    assert duplicate_finder.duplicates_check(alice.pk) == "queued behind a running check"
    assert DuplicateCheck.objects.get(account=alice).again
    assert duplicate_finder._release(alice.pk) is True  # asked again: the claim is kept for one more round
    assert duplicate_finder._release(alice.pk) is False
    contact(alice, "Jo Hansen", "jo@x.com")
    assert duplicate_finder.duplicates_check(alice.pk).startswith("1 groups")
    check = DuplicateCheck.objects.get(account=alice)
    assert check.claimed_until is None and check.checked_at and check.contacts_checked == 2
    assert a.pk in DuplicateGroup.objects.get(account=alice).contact_ids


def test_the_sweep_queues_agents_whose_contacts_changed(alice, bob, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("contacts_app.tasks.find_duplicates.delay", queued.append)
    now = timezone.now()
    DuplicateCheck.objects.create(account=alice, checked_at=now + dt.timedelta(minutes=1))
    DuplicateCheck.objects.create(account=bob, checked_at=now - dt.timedelta(minutes=1))
    contact(alice, "Jo Hansen")
    contact(bob, "Pat Lee")
    with django_capture_on_commit_callbacks(execute=True):
        duplicate_finder.duplicates_sweep()
    assert queued == [bob.pk]


def test_a_check_of_an_agent_removed_meanwhile_ends_quietly(alice):
    assert duplicate_finder.duplicates_check(alice.pk + 1000) == "gone"
