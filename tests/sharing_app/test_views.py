"""The sharing pages with Django's test client: the agent's own objects only, clear messages for bad input."""

from __future__ import annotations

from html import unescape

import pytest
from django.test import Client

from contacts_app.models import Contact
from sharing_app import services
from sharing_app.models import Listing, SavedSearch, SharedLink

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(account):
    c = Client()
    c.force_login(account.user)
    return c


def test_new_page_shows_picker_limit_cart_note_and_preselected_contacts(alice):
    a, b = Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk")[:2]
    page = client_for(alice).get(f"/sharing/new/?contacts={a.pk},{b.pk}").content.decode()
    assert "of 200</strong> listings selected" in page and "Recommended" in page
    assert f'name="contacts" value="{a.pk}" checked' in page and f'name="contacts" value="{b.pk}" checked' in page
    assert 'value="Direct" checked' in page  # contacts chosen: a Direct link is suggested
    assert page.count('class="listing-row') == 50  # the first page of the cache


def test_picker_searches_the_cache_and_keeps_chosen_listings(alice):
    chosen = Listing.objects.filter(city="Bismarck").first()
    fargo = Listing.objects.filter(city="Fargo", status="Active").count()
    html = client_for(alice).get("/sharing/new/listings/", {"q": "fargo", "status": "Active",
                                                           "listings": [chosen.spark_id]}).content.decode()
    assert f'value="{chosen.spark_id}" id="l-{chosen.spark_id}" checked' in html
    assert html.count('class="listing-row') == min(fargo, 50) + 1
    assert "<strong><span id=\"chosen-count\">1</span> of 200</strong>" in html


def test_too_many_listings_is_refused_in_the_form(alice):
    ids = list(Listing.objects.values_list("spark_id", flat=True)[:201])
    resp = client_for(alice).post("/sharing/new/", {"what": "listings", "listings": ids, "link_type": "Indirect"})
    assert resp.status_code == 422
    assert "201 listings are selected; a shared link holds at most 200" in resp.content.decode()
    assert not SharedLink.objects.exists()


def test_another_agents_contact_or_link_is_not_reachable(alice, link_agent):
    bob = link_agent("bob")
    bobs = Contact.objects.create(owner=bob, spark_id="x-bob-2", display_name="Bobs Buyer")
    listing = Listing.objects.first()
    resp = client_for(alice).post("/sharing/new/", {"what": "listings", "listings": [listing.spark_id],
                                                    "contacts": [bobs.pk], "link_type": "Direct"})
    assert resp.status_code == 422 and "not yours" in resp.content.decode()
    assert "Bobs Buyer" not in resp.content.decode()
    link = services.shared_link_create(account=alice, user=alice.user, listing_ids=[listing.spark_id])
    other = client_for(bob)
    assert other.get(f"/sharing/{link.pk}/").status_code == 404
    contact = Contact.objects.filter(owner=alice).first()
    assert other.get(f"/sharing/?contact={contact.pk}").status_code == 404
    assert f"/sharing/{link.pk}/" not in other.get("/sharing/").content.decode()


def test_create_redirects_to_the_pending_link_and_list_filters_by_contact(alice):
    a, b = Contact.objects.filter(owner=alice).exclude(spark_id=None).order_by("pk")[:2]
    search = SavedSearch.objects.filter(account=alice).first()
    c = client_for(alice)
    resp = c.post("/sharing/new/", {"what": "search", "saved_search": search.pk, "contacts": [a.pk],
                                    "link_type": "Direct", "mode": "Idx"})
    link = SharedLink.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/sharing/{link.pk}/"
    assert link.mode == "" and link.kind == "search"  # Direct: flexmls decides (Public)
    assert "Pending" in c.get(f"/sharing/{link.pk}/").content.decode()
    assert search.name in c.get(f"/sharing/?contact={a.pk}").content.decode()
    assert "No links shared with" in c.get(f"/sharing/?contact={b.pk}").content.decode()
    contact_page = c.get(f"/contacts/{a.pk}/").content.decode()
    assert f'href="/sharing/new/?contact={a.pk}"' in contact_page and search.name in contact_page


def test_form_needs_something_to_share(alice):
    resp = client_for(alice).post("/sharing/new/", {"what": "search", "link_type": "Indirect"})
    assert resp.status_code == 422 and "Choose one of your saved searches." in resp.content.decode()
    resp = client_for(alice).post("/sharing/new/", {"what": "listings", "link_type": "Indirect"})
    assert resp.status_code == 422 and "Select at least one listing." in resp.content.decode()


@pytest.mark.parametrize(("url", "params"), [
    ("/sharing/", {"contact": "\x00", "page": "\x00"}),
    ("/sharing/new/", {"q": "fargo\x00"}),
    ("/sharing/new/", {"listings": ["\x00"], "contacts": "1\x00"}),
    ("/sharing/new/", {"contact_q": "ann\x00"}),
    ("/sharing/new/listings/", {"q": "a\x00", "listings": "x\x00"}),
    ("/sharing/new/contacts/", {"contact_q": "\x00"}),
])
def test_a_nul_in_a_search_or_selection_is_a_clear_400(alice, url, params):
    client = Client(raise_request_exception=False)
    client.force_login(alice.user)
    resp = client.get(url, params)
    assert resp.status_code == 400
    assert "a character we can't store (a NUL byte)" in unescape(resp.content.decode())


def test_a_nul_in_the_posted_link_form_is_a_clear_400(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice.user)
    listing = Listing.objects.first()
    resp = client.post("/sharing/new/", {"what": "listings", "listings": [listing.spark_id, "\x00"],
                                         "link_type": "Indirect", "contact_q": "\x00"})
    assert resp.status_code == 400
    assert not SharedLink.objects.exists()
