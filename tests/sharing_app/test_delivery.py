"""A shared link through the outbox against sparksim: created once, stored with Spark's Id and SharedUri, the
listings in each contact's Recommended cart; refused links keep Spark's reason; an unknown outcome never makes a
second link."""

from __future__ import annotations

import time

import pytest

from contacts_app.models import Contact
from crm.agents.spark import client_for_account
from crm.outbox.models import SparkWrite
from crm.outbox.queue import WriteRefused
from crm.outbox.worker import write_deliver
from crm.spark.resources.savedsearches import saved_search_delete
from sharing_app import services
from sharing_app.models import Listing, SavedSearch, SharedLink

pytestmark = pytest.mark.django_db(transaction=True)


def sim_links(sim):
    return sim.control("GET", "/_sim/sharedlinks").json()["sharedlinks"]


def cart(sim, spark_id):
    return sim.control("GET", f"/_sim/carts?contact_id={spark_id}").json()["listing_ids"]


def three_listings():
    return list(Listing.objects.filter(status="Active").order_by("spark_id").values_list("spark_id", flat=True)[:3])


def two_contacts(account):
    return list(Contact.objects.filter(owner=account, record_status="Connected").exclude(spark_id=None)
                .order_by("display_name")[:2])


def test_link_to_listings_for_two_contacts_lands_in_their_recommended_carts(fresh_sim, alice):
    ids, contacts = three_listings(), two_contacts(alice)
    link = services.shared_link_create(account=alice, user=alice.user, listing_ids=ids, contacts=contacts,
                                       link_type="Direct")
    assert link.state == "pending" and link.write.kind == SparkWrite.Kind.SHARED_LINK_CREATE

    assert write_deliver(link.write_id) == "confirmed"

    link.refresh_from_db()
    assert link.state == "active" and link.spark_id and link.shared_uri.endswith(f"/share/{link.spark_id}")
    assert link.mode == "Public" and link.link_type == "Direct"  # Spark makes Direct links Public
    [remote] = sim_links(fresh_sim)
    assert remote["Id"] == link.spark_id and remote["ListingIds"] == ids
    assert sorted(remote["ContactIds"]) == sorted(c.spark_id for c in contacts)
    for c in contacts:
        assert set(ids) <= set(cart(fresh_sim, c.spark_id))


def test_link_to_a_saved_search(fresh_sim, alice):
    search = SavedSearch.objects.filter(account=alice).first()
    link = services.shared_link_create(account=alice, user=alice.user, saved_search=search)
    assert write_deliver(link.write_id) == "confirmed"
    link.refresh_from_db()
    assert link.kind == "search" and link.search_spark_id == search.spark_id and link.mode == "Idx"
    assert sim_links(fresh_sim)[0]["SearchId"] == search.spark_id


def test_refused_link_keeps_spark_reason(fresh_sim, alice):
    search = SavedSearch.objects.filter(account=alice).first()
    saved_search_delete(client_for_account(alice), search.spark_id)  # deleted in flexmls meanwhile
    link = services.shared_link_create(account=alice, user=alice.user, saved_search=search)
    assert write_deliver(link.write_id) == "failed"
    link.refresh_from_db()
    assert link.state == "failed" and not link.spark_id
    assert "is not one of your saved searches" in link.write.spark_message and link.write.spark_status == 400
    assert sim_links(fresh_sim) == []


def test_timeout_then_retry_adopts_the_link_instead_of_posting_again(fresh_sim, alice, settings):
    ids = three_listings()
    contact = two_contacts(alice)[0]
    client_for_account(alice).request("GET", "/my/account")  # a live session before the slow requests
    settings.SPARK_READ_TIMEOUT = 0.4
    fresh_sim.faults(latency_ms=1200)
    link = services.shared_link_create(account=alice, user=alice.user, listing_ids=ids, contacts=[contact])
    seq = fresh_sim.last_seq()

    assert write_deliver(link.write_id) == "retry"  # timed out: did the POST land? unknown
    fresh_sim.clear_faults()
    time.sleep(1.2)  # the simulator finishes the request the client gave up on
    assert len(sim_links(fresh_sim)) == 1
    SparkWrite.objects.filter(pk=link.write_id).update(next_attempt_at=None)

    assert write_deliver(link.write_id) == "confirmed"

    link.refresh_from_db()
    [remote] = sim_links(fresh_sim)
    assert link.spark_id == remote["Id"] and link.shared_uri
    posts = [r for r in fresh_sim.requests_since(seq) if r["method"] == "POST" and "sharedlinks" in r["path"]]
    assert len(posts) == 1


def test_a_different_earlier_link_is_not_taken_for_ours(fresh_sim, alice):
    ids = three_listings()
    link = services.shared_link_create(account=alice, user=alice.user, listing_ids=ids)
    # Same listings but for a contact: not this write's link.
    other = two_contacts(alice)[0]
    from crm.spark.resources.sharedlinks import shared_link_create_for_listings

    shared_link_create_for_listings(client_for_account(alice), ids, contact_ids=[other.spark_id])
    SparkWrite.objects.filter(pk=link.write_id).update(attempts=1)  # as if an attempt had been lost
    assert write_deliver(link.write_id) == "confirmed"
    assert len(sim_links(fresh_sim)) == 2


def test_service_refuses_what_spark_would(fresh_sim, alice, link_agent):
    ids = list(Listing.objects.values_list("spark_id", flat=True)[:201])
    with pytest.raises(WriteRefused, match="at most 200"):
        services.shared_link_create(account=alice, user=alice.user, listing_ids=ids)
    bob = link_agent("bob")
    bobs = Contact.objects.create(owner=bob, spark_id="x-bob-1", display_name="Bob's Contact")
    with pytest.raises(WriteRefused, match="own contacts"):
        services.shared_link_create(account=alice, user=alice.user, listing_ids=ids[:1], contacts=[bobs])
    assert not SharedLink.objects.exists() and not SparkWrite.objects.exists()
