"""Shared links in a real browser, from the state `make run` leaves (demo_world): its real worker and beat, Redis,
PostgreSQL and sparksim. The listings and saved searches arrive in the background, as they do for a new agent."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from contacts_app.models import Contact
from crm.agents.models import SparkAccount
from crm.agents.spark import client_for_account
from crm.spark.resources.savedsearches import saved_search_delete
from sharing_app.models import SavedSearch, SharedLink
from tests.e2e.conftest import search
from tests.e2e.journeys import list_loaded, revisit_until

pytestmark = [pytest.mark.e2e, pytest.mark.worker]


@pytest.fixture
def alice(demo_world, page) -> SparkAccount:
    """Alice logged in on `page`, her contacts there."""
    demo_world.login(page, "alice")
    list_loaded(page)
    return SparkAccount.objects.get(user__username="alice")


def cart(sim, spark_id):
    return sim.control("GET", f"/_sim/carts?contact_id={spark_id}").json()["listing_ids"]


def test_share_three_listings_with_two_contacts_and_copy_the_link(alice, demo_world, page, screenshot):
    fresh_sim = demo_world.sim
    first, second = Contact.objects.filter(owner=alice, record_status="Connected").exclude(spark_id=None) \
        .order_by("display_name")[:2]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=demo_world.url)

    page.locator(f"tr.contact-row td.name a[href='/contacts/{first.pk}/']").click()
    page.locator("#contact-links a.share-contact").click()
    page.wait_for_url(re.compile(rf"/sharing/new/\?contact={first.pk}$"))
    expect(page.locator(f"input[name=contacts][value='{first.pk}']")).to_be_checked()
    expect(page.locator(".recommended-note")).to_contain_text("Recommended")
    expect(page.locator("#picker-count")).to_contain_text("0 of 200")
    revisit_until(page, page.url, "#picker-results tr.listing-row")  # the listing cache fills in the background

    page.fill("#contact-q", second.primary_email)
    page.locator(f"input[name=contacts][value='{second.pk}']").check()
    expect(page.locator(f"input[name=contacts][value='{first.pk}']")).to_be_checked()

    page.fill("#listing-q", "fargo")
    page.select_option("#picker-search select[name=status]", "Active")
    expect(page.locator("#picker-results tr.listing-row").first).to_contain_text("Active")
    page.wait_for_timeout(400)  # the second search (status) replaces the first one's rows
    boxes = page.locator("#picker-results input.pick-listing")
    ids = [boxes.nth(i).get_attribute("value") for i in range(3)]
    for listing_id in ids:
        page.locator(f"#l-{listing_id}").check()
    expect(page.locator("#picker-count")).to_contain_text("3 of 200")
    expect(page.locator("#picker-results tr.listing-row img").first).to_be_visible()
    expect(page.locator("input[name=link_type][value=Direct]")).to_be_checked()
    screenshot("share-new")
    page.click("#create-link")

    link = SharedLink.objects.get(account=alice)
    page.wait_for_url(f"**/sharing/{link.pk}/")
    expect(page.locator("#link-status .share-uri")).to_be_visible(timeout=20_000)  # confirmed by the worker
    link.refresh_from_db()
    assert sorted(link.listing_ids) == sorted(ids)
    expect(page.locator("#link-status .share-uri")).to_have_value(link.shared_uri)
    expect(page.locator("table.link-listings tr.listing-row")).to_have_count(3)
    page.click("#link-status .copy-button")
    expect(page.locator("#link-status .copy-result")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link.shared_uri
    screenshot("share-detail")

    for contact in (first, second):
        assert set(ids) <= set(cart(fresh_sim, contact.spark_id))

    page.get_by_role("link", name="Shared links", exact=True).click()
    row = page.locator(f"#link-{link.pk}")
    expect(row).to_contain_text("3 listings")
    expect(row).to_contain_text(first.display_name)
    expect(row).to_contain_text(second.display_name)
    page.select_option("select[name=contact]", str(second.pk))
    page.wait_for_url(re.compile(rf"contact={second.pk}"))
    expect(page.locator("tr.link-row")).to_have_count(1)
    page.locator(f"#link-{link.pk} .chip", has_text=second.display_name).first.wait_for()
    page.get_by_role("link", name="Contacts", exact=True).click()
    search(page, second.primary_email)
    page.locator(f"tr.contact-row td.name a[href='/contacts/{second.pk}/']").click()
    expect(page.locator("#contact-links")).to_contain_text("3 listings")


def test_share_a_saved_search_and_see_a_refused_link(alice, demo_world, page, screenshot):
    page.get_by_role("link", name="Shared links", exact=True).click()
    page.get_by_role("link", name="Share listings").click()
    new = page.url
    revisit_until(page, new, "#id_saved_search option:nth-child(3)")  # the saved searches arrive in the background
    kept, gone = SavedSearch.objects.filter(account=alice).order_by("name")[:2]
    page.check("input[name=what][value=search]")
    expect(page.locator("#pick-listings")).to_be_hidden()
    page.select_option("#id_saved_search", str(kept.pk))
    page.click("#create-link")
    expect(page.locator("#link-status .share-uri")).to_be_visible(timeout=20_000)
    ok = SharedLink.objects.get(account=alice, search_spark_id=kept.spark_id)
    # Without clipboard permission the address stays in a visible field, selected for copying by hand.
    expect(page.locator("#link-status .share-uri")).to_have_value(ok.shared_uri)

    page.goto(new)
    page.check("input[name=what][value=search]")
    page.select_option("#id_saved_search", str(gone.pk))
    # Deleted in flexmls (by the agent, elsewhere) while the form is open; our cache is older.
    saved_search_delete(client_for_account(alice), gone.spark_id)
    page.click("#create-link")
    expect(page.locator("#link-status .spark-reason")).to_contain_text("is not one of your saved searches",
                                                                        timeout=30_000)
    screenshot("share-refused")

    page.get_by_role("link", name="Shared links", exact=True).click()
    expect(page.locator("tr.link-row")).to_have_count(2)
    expect(page.locator("tr.link-row").first).to_contain_text("Refused")
    expect(page.locator("tr.link-row").nth(1)).to_contain_text(kept.name)
    page.get_by_role("link", name=re.compile("Needs attention")).click()
    expect(page.locator("table.attention")).to_contain_text("is not one of your saved searches")
