"""Record parsing against the recorded Spark bodies in ../shared/spark-fixtures (the official Ruby client's)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.spark.records import (
    AccountRecord,
    ActivityRecord,
    ContactRecord,
    ListingRecord,
    NewsFeedRecord,
    SavedSearchRecord,
    ScheduleRecord,
    SharedLinkRecord,
    TagRecord,
    clean_text,
    parse_bool,
    parse_float,
    parse_int,
    parse_timestamp,
)

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "spark-fixtures"
if not FIXTURES.is_dir():  # the tree may sit elsewhere; the shared folder is a sibling of the repo
    FIXTURES = Path("/work/shared/spark-fixtures")


def results(name: str) -> list[dict]:
    text = (FIXTURES / name).read_text()
    text = text.replace('",\n}', '"\n}')  # refresh_body.json has a trailing comma; the others are strict JSON
    return json.loads(text)["D"]["Results"]


def test_contacts_fixture():
    contacts = [ContactRecord.from_api(r) for r in results("contacts/contacts.json")]
    assert [c.id for c in contacts] == ["20101230223226074201000000", "20101230223226074202000000",
                                        "20101230223226074203000000"]
    first = contacts[0]
    assert first.display_name == "Contact One"
    assert first.primary_email == "contact1@fbsdata.com"
    assert first.tags == ["IDX Lead"]
    assert first.record_status == "Connected"
    assert first.modified_at is None and first.score is None and first.daily_activity == []
    assert first.attributes["ResourceUri"] == "/v1/contacts/20101230223226074201000000"


def test_my_contact_fixture_keeps_extra_fields():
    me = ContactRecord.from_api(results("contacts/my.json")[0])
    assert me.id == "20090928182824338901000000"
    assert me.attributes["GivenName"] == "bh" and me.attributes["HomeStreetAddress"] == "23541235"


def test_contact_activity_expansion_and_quirks():
    data = {
        "Id": "20200101000000000000000001", "DisplayName": "Q", "CreatedTimestamp": "",
        "ModificationTimestamp": "2013-06-27T10:01:06-05:00", "OwnerId": "", "Tags": "Single",
        "Activity": {"Score": "150", "RelativeScore": "0.25", "DailyActivity": [
            {"Date": "2024-01-01", "Score": "3", "RelativeScore": 0.1}, {"Score": None}, "junk"]},
        "Unknown": {"nested": True},
    }
    c = ContactRecord.from_api(data)
    assert c.score == 150 and c.relative_score == 0.25
    assert c.created_at is None
    assert c.modified_at == dt.datetime(2013, 6, 27, 15, 1, 6, tzinfo=dt.UTC)
    assert c.owner_id is None and c.tags == ["Single"]
    assert [(d.date, d.score) for d in c.daily_activity] == [(dt.date(2024, 1, 1), 3), (None, None)]
    assert "Unknown" in c.attributes


def test_contact_create_answer_gives_id_from_resource_uri():
    from crm.spark.client import SparkResponse

    resp = SparkResponse(results=results("contacts/post.json"))
    assert resp.created_id() == "20101230223226074204000000"
    link = SparkResponse(results=results("sharedlinks/success.json"))
    assert link.created_id() == "YUNO"


def test_tags_fixture():
    tags = [TagRecord.from_api(r) for r in results("contacts/tags.json")]
    assert [t.tag for t in tags] == ["Current Buyers", "Past Buyers", "Current Sellers", "TEST"]
    assert TagRecord.from_api("Plain").tag == "Plain"


@pytest.mark.parametrize("name", ["accounts/my.json", "accounts/office.json", "accounts/all.json"])
def test_accounts_fixtures(name):
    accounts = [AccountRecord.from_api(r) for r in results(name)]
    first = accounts[0]
    assert first.id == "20000426173054342350000000"
    assert first.name == "Sample User"
    assert first.office_id == "20030426173014239760000000" and first.office_name == "Sample Office Inc"
    assert first.email == "work@test.com" and first.phone == "701-555-1212"
    assert first.emails == ["work@test.com", "mobile@test.com"]
    assert first.mls_id == "20000426143505724628000000" and first.mls_name == "Your Local MLS"
    if name == "accounts/all.json":
        empty = accounts[2]
        assert empty.email == "" and empty.phone == "" and empty.emails == []


def test_portal_account_without_office():
    acct = AccountRecord.from_api(results("accounts/my_portal.json")[0])
    assert acct.office_id is None and acct.email == "" and acct.attributes["GetEmailUpdates"] is False


def test_account_primary_email_is_the_flagged_one():
    acct = AccountRecord.from_api({"Id": "1", "Emails": [{"Address": "a@x"}, {"Address": "b@x", "Primary": "true"}]})
    assert acct.email == "b@x"


@pytest.mark.parametrize("name,active", [("newsfeeds/get.json", True), ("newsfeeds/inactive.json", False)])
def test_newsfeed_fixtures(name, active):
    feed = NewsFeedRecord.from_api(results(name)[0])
    assert feed.id == "20130625195235039712000000"
    assert feed.active is active and feed.notifications_active is True and feed.curated is False
    assert feed.type == "SavedSearch" and feed.notification_methods == ["Email"]
    assert feed.expires_on == dt.date(2014, 10, 10)
    assert feed.last_event_at == dt.datetime(2013, 7, 7, 17, 12, 6, tzinfo=dt.UTC)
    assert feed.subscription is not None
    assert feed.subscription.id == "20100815220615294367000000"
    assert feed.subscription.owner_id == "20090815223215294334000000"
    assert feed.subscription.filter == ""  # null


@pytest.mark.parametrize("name,subscribed,feed_active", [
    ("saved_searches/with_newsfeed.json", True, True),
    ("saved_searches/with_inactive_newsfeed.json", False, False),
    ("saved_searches/without_newsfeed.json", False, None),
])
def test_saved_search_expansions(name, subscribed, feed_active):
    search = SavedSearchRecord.from_api(results(name)[0])
    assert search.id == "20100815220615294367000000"
    assert search.contact_ids == ["20100815220615294367000000"]
    assert search.active_subscription is subscribed
    if feed_active is None:
        assert search.news_feeds == []
    else:
        feed = search.news_feeds[0]
        assert feed.active is feed_active  # "true"/"false" strings
        assert feed.curated is False
        assert feed.last_event_at is None  # ""
        assert feed.owner_id == "20000426143505724628000000"
        assert feed.created_at == dt.datetime(2014, 12, 3, 8, 26, 19, tzinfo=dt.UTC)


def test_saved_search_list_and_provided():
    searches = [SavedSearchRecord.from_api(r) for r in results("saved_searches/get.json")]
    assert searches[0].filter == "City Eq 'Moorhead' And MlsStatus Eq 'Active' And PropertyType Eq 'A'"
    assert searches[0].provided is False
    assert searches[1].name == "Second search name here" and searches[1].contact_ids == []
    assert searches[1].active_subscription is None
    provided = SavedSearchRecord.from_api(results("saved_searches/get_provided.json")[0])
    assert provided.provided is True


@pytest.mark.parametrize("name", ["listings/no_subresources.json", "listings/multiple.json",
                                  "listings/with_photos.json"])
def test_listing_fixtures(name):
    listing = ListingRecord.from_api(results(name)[0])
    assert listing.id == "20060725224713296297000000"
    assert listing.listing_id == "06-9395"
    assert listing.list_price == 50000.0  # "50000.0"
    assert listing.baths_total == 1.0 and listing.beds_total == 3
    assert listing.building_area_total == 924.0 and listing.year_built == 1977
    assert listing.longitude == pytest.approx(-116.3237)  # " -116.3237" in with_photos.json
    assert listing.address == "7298 BIRCH, Bonners Ferry, ID 83805"
    assert listing.modified_at == dt.datetime(2010, 11, 22, 20, 47, 21, tzinfo=dt.UTC)
    if name == "listings/with_photos.json":
        assert listing.photos and listing.primary_photo is not None
        assert listing.primary_photo.id == "20060725225010201442000000"
        assert listing.primary_photo.uri.startswith("http")
    else:
        assert listing.photos == [] and listing.primary_photo is None


def test_listing_masked_values_are_none():
    listing = ListingRecord.from_api({"Id": "1", "StandardFields": {"ListPrice": "********", "City": "********",
                                                                   "BedsTotal": "********"}})
    assert listing.list_price is None and listing.city == "" and listing.beds_total is None


def test_schedule_docs_examples():
    default = ScheduleRecord.from_api({
        "Id": "20100000000000000000000000", "ResourceUri": "/vX/newsfeeds/schedule/20100000000000000000000000",
        "NewsfeedId": None, "Frequency": "Scheduled", "HoursOfDay": [1], "DaysOfWeek": ["Sunday", "Monday"],
        "DaysOfMonth": [1, "2"], "CreatedTimestamp": "2013-07-07T12:12:06-05:00"})
    assert default.is_default and default.frequency == "Scheduled"
    assert default.hours_of_day == [1] and default.days_of_month == [1, 2]
    assert default.days_of_week == ["Sunday", "Monday"]
    own = ScheduleRecord.from_api({"Id": "2", "NewsfeedId": "20100000000000000000000001", "Frequency": "Instant",
                                   "HoursOfDay": None, "DaysOfWeek": None, "DaysOfMonth": None})
    assert not own.is_default and own.hours_of_day is None and own.days_of_week is None


def test_shared_link_docs_example():
    link = SharedLinkRecord.from_api({"Id": "15Ar", "ResourceUri": "/v1/sharedlistings/15Ar", "SharedUri": "",
                                      "Type": "Indirect", "Mode": "Idx", "ContactIds": [],
                                      "ListingIds": ["20110224152431857619000000"]})
    assert link.id == "15Ar" and link.mode == "Idx" and link.type == "Indirect"
    assert link.listing_ids == ["20110224152431857619000000"] and link.saved_search is None
    by_uri = SharedLinkRecord.from_api({"ResourceUri": "/sharedlinks/YUNO",
                                        "SavedSearch": {"Id": "20100815220615294367000000", "Name": "S"}})
    assert by_uri.id == "YUNO" and by_uri.saved_search_id == "20100815220615294367000000"


def test_activity_summary_docs_example_with_string_numbers():
    act = ActivityRecord.from_api({"ManualEmailsOpened": 8, "ManualEmailsSent": "10", "SubscriptionEmailsOpened": 80,
                                   "SubscriptionEmailsSent": 81, "ListingsViewed": 80, "ListingsShared": None})
    assert (act.manual_emails_opened, act.manual_emails_sent, act.listings_viewed, act.listings_shared) == (
        8, 10, 80, 0)


@pytest.mark.parametrize("value,expected", [("3", 3), ("3.0", 3), (3, 3), ("", None), (None, None), (True, None),
                                            ("********", None)])
def test_parse_int(value, expected):
    assert parse_int(value) == expected


def test_parse_helpers():
    assert parse_float(" -116.3237") == pytest.approx(-116.3237)
    assert parse_bool("TRUE") is True and parse_bool("false") is False and parse_bool("yes") is None
    assert parse_timestamp("") is None and parse_timestamp("garbage") is None
    assert parse_timestamp("2012-11-28T13:21:06Z") == dt.datetime(2012, 11, 28, 13, 21, 6, tzinfo=dt.UTC)


# -- hostile upstream text: what anyone can write into Spark must not stop the store ----------------------------

FORBIDDEN = {chr(c) for c in range(0x20)} - {"\t", "\n", "\r"} | {chr(c) for c in range(0xD800, 0xE000)}


def _strings(value):
    """Every string in decoded JSON, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _storable(value) -> bool:
    return all(not FORBIDDEN & set(s) for s in _strings(value))


def test_contact_text_loses_nul_and_control_characters_and_keeps_the_rest():
    c = ContactRecord.from_api({
        "Id": "20200101000000000000000001",
        "DisplayName": "Ann\x00 Lee\x07",
        "PrimaryEmail": "ann\x1b@example.com",
        "Note": "line one\r\nline\ttwo\x00\x0b\x0c end",
        "Tags": ["VIP\x00", "a\x1fb", "\x00"],
        "Settings": {"Key\x00": ["v\x01", {"Deep": "d\x02eep\ud800", "N": 1.5, "Ok": True}]},
    })
    assert c.display_name == "Ann Lee"
    assert c.primary_email == "ann@example.com"
    assert c.attributes["Note"] == "line one\r\nline\ttwo end"
    assert c.tags == ["VIP", "ab"]  # a tag that was only a NUL is no tag
    assert c.attributes["Tags"] == ["VIP", "ab", ""]
    assert c.attributes["Settings"] == {"Key": ["v", {"Deep": "deep", "N": 1.5, "Ok": True}]}
    assert c.attributes["DisplayName"] == "Ann Lee"


def test_lone_surrogates_from_json_escapes_are_dropped_and_real_pairs_kept():
    data = json.loads('{"Id": "1", "DisplayName": "x\\ud800y \\ud83d\\ude00", "Note": "\\udfff"}')
    c = ContactRecord.from_api(data)
    assert c.display_name == "xy \U0001F600"
    assert c.attributes["Note"] == ""
    c.display_name.encode("utf-8")  # psycopg can send it


def test_non_finite_numbers_become_null():
    c = ContactRecord.from_api(json.loads('{"Id": "1", "DisplayName": "N", "Custom": [NaN, Infinity, 2]}'))
    assert c.attributes["Custom"] == [None, None, 2]
    json.dumps(c.attributes, allow_nan=False)


def test_upstream_tags_over_75_characters_are_kept_whole():
    long_tag = "Relocating from Minneapolis-Saint Paul, first-time buyer, pre-approved, wants acreage"
    assert len(long_tag) > 75
    c = ContactRecord.from_api({"Id": "1", "DisplayName": "T", "Tags": [long_tag, "short"]})
    assert c.tags == [long_tag, "short"]
    assert SavedSearchRecord.from_api({"Id": "2", "Tags": [long_tag]}).tags == [long_tag]


@pytest.mark.parametrize("parse,data", [
    (NewsFeedRecord.from_api, {"Id": "1", "Name": "Feed\x00", "Subscription": {"Id": "2", "Name": "S\x01"}}),
    (SavedSearchRecord.from_api, {"Id": "1", "Name": "Search\x00", "Filter": "City Eq 'A\x00'"}),
    (SharedLinkRecord.from_api, {"Id": "1", "Mode": "Idx\x00", "SavedSearch": {"Id": "2", "Name": "\x00S"}}),
    (ListingRecord.from_api, {"Id": "1", "StandardFields": {"City": "Fargo\x00", "PublicRemarks": "Nice\x00\x1f"}}),
    (ScheduleRecord.from_api, {"Id": "1", "Frequency": "Instant\x00", "DaysOfWeek": ["Sunday\x00"]}),
    (AccountRecord.from_api, {"Id": "1", "Name": "Agent\x00", "Emails": [{"Address": "a\x00@x"}]}),
    (ActivityRecord.from_api, {"ListingsViewed": "3", "Odd\x00": "\x00"}),
    (TagRecord.from_api, {"Tag": "Buyer\x00"}),
])
def test_every_record_is_built_from_cleaned_data(parse, data):
    record = parse(data)
    assert _storable(json.loads(json.dumps(record.__dict__, default=lambda o: getattr(o, "__dict__", str(o)))))


# Text as hostile as Spark's clients can make it: NUL and the other C0 controls, lone surrogates, line and
# paragraph separators, BOMs, emoji, combining marks, right-to-left text and long runs of any of them.
ODD = st.sampled_from(["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\t", "\n", "\r",
                       "\ud800", "\udbff", "\udc00", "\udfff", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff",
                       "\u200b", "\u202e", "e\u0301", "\U0001F600", "\U0010FFFF", "ß", "ǅ", "日本"])
HOSTILE_TEXT = st.lists(st.one_of(st.characters(), ODD), max_size=120).map("".join) | st.builds(
    lambda ch, n: ch * n, ODD, st.integers(min_value=76, max_value=3000))
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(name=HOSTILE_TEXT, note=HOSTILE_TEXT, tags=st.lists(HOSTILE_TEXT, max_size=5), extra=JSONISH)
def test_any_contact_parses_to_storable_text(name, note, tags, extra):
    c = ContactRecord.from_api({"Id": "1", "DisplayName": name, "Note": note, "Tags": tags, "Custom": extra})
    assert _storable([c.display_name, c.tags, c.attributes])
    # What remains is encodable and is valid JSON for jsonb (no NaN/Infinity).
    json.dumps(c.attributes, allow_nan=False).encode("utf-8")
    assert c.display_name == "".join(ch for ch in name if ch not in FORBIDDEN)
    assert c.attributes["Note"] == "".join(ch for ch in note if ch not in FORBIDDEN)
    assert all(t and not FORBIDDEN & set(t) for t in c.tags)
    assert [t for t in c.tags if len(t) > 75] == [t for t in (
        "".join(ch for ch in raw if ch not in FORBIDDEN) for raw in tags) if len(t) > 75]


@given(text=st.text(alphabet=st.characters(exclude_characters="".join(FORBIDDEN)), max_size=500))
def test_clean_text_keeps_text_without_forbidden_characters_unchanged(text):
    assert clean_text(text) == text
