"""Every resource function against a real sparksim over HTTP."""

from __future__ import annotations

import pytest

from crm.spark.errors import SparkNotFound
from crm.spark.paging import Page
from crm.spark.records import ContactRecord
from crm.spark.resources import accounts, activity, contacts, listings, newsfeeds, savedsearches, sharedlinks
from crm.spark.sparkql import and_, contains, eq, gt
from tests.spark.helpers import make_client, requests_to


@pytest.fixture
def alice(fresh_sim):
    return make_client(fresh_sim, "alice")


def test_contact_list_page_and_params(fresh_sim, alice):
    seq = fresh_sim.last_seq()
    page = contacts.contact_list(alice, orderby="-ModificationTimestamp", select=["DisplayName", "PrimaryEmail"],
                                 page=2, limit=5)
    assert isinstance(page, Page) and len(page) == 5 and page.page == 2 and page.has_next
    assert page.total_rows and page.total_pages == -(-page.total_rows // 5)
    assert all(isinstance(c, ContactRecord) and c.id for c in page)
    query = requests_to(fresh_sim, seq, "/v1/contacts")[0]["query"]
    assert query["_orderby"] == "-ModificationTimestamp" and query["_select"] == "DisplayName,PrimaryEmail"
    assert (query["_page"], query["_limit"], query["_pagination"]) == ("2", "5", "1")


def test_contact_list_filter_with_user_text(alice):
    obrien = contacts.contact_create(alice, {"DisplayName": "Bill O'Brien \\ Sons"})
    found = contacts.contact_list(alice, filter=eq("DisplayName", "Bill O'Brien \\ Sons"))
    assert [c.id for c in found] == [obrien]
    # a stray * in what the user typed is dropped, not treated as a wildcard of theirs
    found = contacts.contact_list(alice, filter=contains("DisplayName", "'Bri*en"), limit=25)
    assert [c.id for c in found] == [obrien]
    assert contacts.contact_list(alice, filter=eq("DisplayName", "No'Body")).items == []


def test_contact_iter_reads_every_page(alice):
    everyone = list(contacts.contact_iter(alice, page_size=25))
    assert len(everyone) == contacts.contact_list(alice, limit=1).total_rows > 25


def test_create_get_update_transfer_delete(fresh_sim, alice):
    new_id = contacts.contact_create(alice, {"DisplayName": "Neddy Nederlander", "PrimaryEmail": "ned@x.example",
                                             "Tags": ["Web Lead"]}, notify=True)
    got = contacts.contact_get(alice, new_id)
    assert got.display_name == "Neddy Nederlander" and got.tags == ["Web Lead"] and got.created_at
    body = requests_to(fresh_sim, 0, "/v1/contacts", "POST")[-1]["body"]
    assert '"Contacts":[' in body and '"Notify":true' in body

    seq = fresh_sim.last_seq()
    contacts.contact_update(alice, new_id, {"PrimaryPhoneNumber": "555-555-5555"})
    assert contacts.contact_get(alice, new_id).primary_phone == "555-555-5555"
    assert requests_to(fresh_sim, seq, f"/v1/contacts/{new_id}", "PUT")[0]["body"] == \
        '{"D":{"PrimaryPhoneNumber":"555-555-5555"}}'
    with pytest.raises(ValueError):
        contacts.contact_update(alice, new_id, {"OwnerId": "x"})

    bob = fresh_sim.account("bob")["user_id"]
    seq = fresh_sim.last_seq()
    contacts.contact_transfer(alice, new_id, bob)
    assert requests_to(fresh_sim, seq, f"/v1/contacts/{new_id}", "PUT")[0]["body"] == f'{{"D":{{"OwnerId":"{bob}"}}}}'
    bobs = make_client(fresh_sim, "bob")
    assert contacts.contact_get(bobs, new_id).owner_id == bob
    contacts.contact_delete(bobs, new_id)
    with pytest.raises(SparkNotFound):
        contacts.contact_get(bobs, new_id)


def test_unconnected_contacts(alice):
    page = contacts.unconnected_list(alice)
    assert all(c.record_status == "Unconnected" for c in page)


def test_tags_and_contacts_by_tag(alice):
    tag = "Warm Lead & Co?"  # a space, & and ? must all stay inside the one path segment
    new_id = contacts.contact_create(alice, {"DisplayName": "Tagged", "Tags": [tag]})
    tags = contacts.tags_list(alice)
    assert tag in tags
    tagged = contacts.contacts_by_tag(alice, tag)
    assert [c.id for c in tagged] == [new_id]


def test_activity_summary_series_and_listings(alice):
    cid = contacts.contact_list(alice, orderby="-Score", limit=1).items[0].id
    summary = activity.activity_summary(alice, cid)
    assert summary.listings_viewed >= 0 and summary.manual_emails_sent >= 0
    series = activity.activity_series(alice, cid)
    assert len(series) == 30 and all(d.date for d in series)
    assert series == sorted(series, key=lambda d: d.date)
    scored = activity.activity_scores(alice, cid)
    assert scored.score is not None and scored.relative_score is not None
    viewed = activity.listings_viewed(alice, cid, limit=25)
    assert (viewed.total_rows or 0) == summary.listings_viewed or len(viewed) == min(25, summary.listings_viewed)
    assert all(listing.id for listing in viewed)
    shared = activity.listings_shared(alice, cid)
    assert len(shared) == min(25, summary.listings_shared)


def test_accounts(fresh_sim, alice):
    me = accounts.my_account(alice)
    acct = fresh_sim.account("alice")
    assert me.id == acct["user_id"] and me.office_id == acct["office_id"] and me.name == acct["name"]
    office = accounts.office_accounts(alice, me.office_id)
    assert me.id in {a.id for a in office} and fresh_sim.account("bob")["user_id"] in {a.id for a in office}
    assert accounts.account_get(alice, me.id).id == me.id
    assert accounts.office_accounts_page(alice, me.office_id, limit=1).items


def test_listings_search_and_get(alice):
    page = listings.listing_search(alice, filter=gt("ListPrice", 1000), orderby="-ListPrice", limit=5)
    assert len(page) == 5 and page.items[0].list_price >= page.items[-1].list_price
    one = listings.listing_get(alice, page.items[0].id)
    assert one.id == page.items[0].id and one.listing_id and one.address
    by_number = listings.listings_by_mls_number(alice, [one.listing_id])
    assert [x.id for x in by_number] == [one.id]


def test_saved_searches_crud_and_listings(fresh_sim, alice):
    cid = contacts.contact_list(alice, limit=1).items[0].id
    sid = savedsearches.saved_search_create(alice, {"Name": "Cheap", "Filter": str(
        and_(gt("ListPrice", 1000), eq("PropertyType", "A"))), "ContactIds": [cid]})
    got = savedsearches.saved_search_get(alice, sid, expand=["NewsFeeds", "NewsFeedSubscriptionSummary"])
    assert got.name == "Cheap" and got.contact_ids == [cid] and got.active_subscription is False
    savedsearches.saved_search_update(alice, sid, {"Name": "Cheaper"})
    assert savedsearches.saved_search_get(alice, sid).name == "Cheaper"
    assert sid in {s.id for s in savedsearches.saved_search_list(alice, limit=25)}
    matched = savedsearches.saved_search_listings(alice, sid, limit=5)
    assert all(x.property_type == "A" for x in matched)
    savedsearches.saved_search_delete(alice, sid)
    with pytest.raises(SparkNotFound):
        savedsearches.saved_search_get(alice, sid)


def test_newsfeeds_and_both_kinds_of_schedule(fresh_sim, alice):
    cid = contacts.contact_list(alice, limit=1).items[0].id
    sid = savedsearches.saved_search_create(alice, {"Name": "Feed me", "Filter": "PropertyType Eq 'A'"})
    for existing in newsfeeds.default_schedule_list(alice, contact_id=cid):
        newsfeeds.default_schedule_delete(alice, existing.id, contact_id=cid)
    fid = newsfeeds.newsfeed_create(alice, {"Name": "For the contact", "Subscription": {"Id": sid}}, contact_id=cid)
    feed = newsfeeds.newsfeed_get(alice, fid)
    assert feed.active and feed.name == "For the contact"
    assert fid in {f.id for f in newsfeeds.newsfeed_list(alice, contact_id=cid)}
    newsfeeds.newsfeed_update(alice, fid, {"Active": False})
    assert newsfeeds.newsfeed_get(alice, fid).active is False

    # creating the feed made an Instant default schedule for the contact (documented side effect)
    defaults = newsfeeds.default_schedule_list(alice, contact_id=cid)
    assert [s.frequency for s in defaults] == ["Instant"] and defaults[0].is_default
    newsfeeds.default_schedule_update(alice, defaults[0].id, newsfeeds.schedule_attrs(
        frequency="Scheduled", days_of_week=["Monday", "Tuesday"]), contact_id=cid)
    again = newsfeeds.default_schedule_get(alice, defaults[0].id, contact_id=cid)
    assert again.frequency == "Scheduled" and again.days_of_week == ["Monday", "Tuesday"]
    newsfeeds.default_schedules_delete_all(alice, contact_id=cid)
    assert newsfeeds.default_schedule_list(alice, contact_id=cid) == []

    own = newsfeeds.feed_schedule_create(alice, fid, newsfeeds.schedule_attrs(frequency="Scheduled", hours_of_day=[7]))
    mine = newsfeeds.feed_schedule_list(alice, fid)
    assert len(mine) == 1 and mine[0].newsfeed_id == fid and mine[0].hours_of_day == [7]
    assert own is None or own == mine[0].id
    newsfeeds.feed_schedule_update(alice, fid, mine[0].id, {"HoursOfDay": [8, 9]})
    assert newsfeeds.feed_schedule_get(alice, fid, mine[0].id).hours_of_day == [8, 9]
    assert newsfeeds.feed_schedule_list(alice, fid, contact_id=cid)[0].id == mine[0].id
    newsfeeds.feed_schedule_delete(alice, fid, mine[0].id)
    assert newsfeeds.feed_schedule_list(alice, fid) == []

    default_id = newsfeeds.default_schedule_create(alice, {"Frequency": "Instant"})
    assert default_id is None or default_id in {s.id for s in newsfeeds.default_schedule_list(alice)}
    newsfeeds.newsfeed_delete(alice, fid)
    with pytest.raises(SparkNotFound):
        newsfeeds.newsfeed_get(alice, fid)
    with pytest.raises(ValueError):
        newsfeeds.schedule_attrs(days_of_week=["Funday"])


def test_shared_links(fresh_sim, alice):
    listing_ids = [x.id for x in listings.listing_search(alice, limit=2)]
    cid = contacts.contact_list(alice, limit=1).items[0].id
    lid = sharedlinks.shared_link_create_for_listings(alice, listing_ids, contact_ids=[cid], type="Direct",
                                                      mode="Public")
    link = sharedlinks.shared_link_get(alice, lid)
    assert link.id == lid and link.listing_ids == listing_ids and link.contact_ids == [cid]
    assert link.type == "Direct" and link.mode == "Public" and link.shared_uri
    sid = savedsearches.saved_search_create(alice, {"Name": "Share me", "Filter": "PropertyType Eq 'A'"})
    sid_link = sharedlinks.shared_link_create_for_search(alice, sid)
    by_search = sharedlinks.shared_link_get(alice, sid_link)
    assert by_search.saved_search_id == sid
    everything = sharedlinks.shared_link_list(alice)
    assert [lid, sid_link] == [x.id for x in everything][-2:]
    with pytest.raises(ValueError):
        sharedlinks.shared_link_create_for_listings(alice, [str(i) for i in range(201)])
