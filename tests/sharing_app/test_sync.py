"""The sharing cache against sparksim: listings (with photos), the agent's saved searches and shared links."""

from __future__ import annotations

import pytest

from contacts_app.models import Contact
from crm.agents.spark import client_for_account
from crm.spark.resources.savedsearches import saved_search_delete
from crm.spark.resources.sharedlinks import shared_link_create_for_listings
from sharing_app.models import Listing, SavedSearch, SharedLink
from sharing_app.sync import sharing_sync

pytestmark = pytest.mark.django_db(transaction=True)


def test_first_sync_fills_listings_searches_and_links(fresh_sim, alice):
    assert Listing.objects.count() == 300
    x = Listing.objects.exclude(photo_url="").first()
    assert x.address and x.price and x.beds and x.status in ("Active", "Pending", "Closed")
    assert "/_sim/photos/" in x.photo_url
    names = set(SavedSearch.objects.filter(account=alice).values_list("name", flat=True))
    assert len(names) == 4


def test_sync_brings_links_made_in_flexmls_and_drops_removed_searches(fresh_sim, alice):
    client = client_for_account(alice)
    contact = Contact.objects.filter(owner=alice).exclude(spark_id=None).first()
    ids = list(Listing.objects.order_by("spark_id").values_list("spark_id", flat=True)[:2])
    link_id = shared_link_create_for_listings(client, ids, contact_ids=[contact.spark_id], type="Direct")
    gone = SavedSearch.objects.filter(account=alice).first()
    saved_search_delete(client, gone.spark_id)

    seq = fresh_sim.last_seq()
    sharing_sync(account=alice)

    link = SharedLink.objects.get(spark_id=link_id)
    assert link.account == alice and link.listing_ids == ids and link.link_type == "Direct" and link.mode == "Public"
    assert link.shared_uri.endswith(f"/share/{link_id}") and list(link.contacts.all()) == [contact]
    assert not SavedSearch.objects.filter(pk=gone.pk).exists()
    # Incremental: nothing changed in listings, so one page of them and one of links is all it reads.
    paths = [r["path"] for r in fresh_sim.requests_since(seq) if r["path"] != "/v1/session"]
    assert paths.count("/v1/listings") == 1 and paths.count("/v1/sharedlinks") == 1


def test_second_agent_sees_only_their_own_searches_and_links(fresh_sim, alice, link_agent):
    bob = link_agent("bob")
    client = client_for_account(alice)
    shared_link_create_for_listings(client, [Listing.objects.first().spark_id])
    sharing_sync(account=alice)
    sharing_sync(account=bob)
    assert SharedLink.objects.filter(account=alice).count() == 1
    assert not SharedLink.objects.filter(account=bob).exists()
    alice_searches = set(SavedSearch.objects.filter(account=alice).values_list("spark_id", flat=True))
    bob_searches = set(SavedSearch.objects.filter(account=bob).values_list("spark_id", flat=True))
    assert bob_searches and not alice_searches & bob_searches
