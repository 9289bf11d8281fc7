"""Bulk actions from the contacts list, from the state `make run` leaves, driven only through the page.

Every action starts over a hand-picked selection and over "all N matching", and is followed to its finished
progress bar and per-contact results. Nothing is prepared through the app's internals: the database and sparksim's
control API are only read to check what happened (or written to as "another flexmls user").
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from contacts_app.models import Contact
from tests.e2e.conftest import search

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

LONG = 60_000  # the box is shared and loaded: what a user would wait for, with room to spare


def open_contacts(world, page, login: str = "alice") -> None:
    """Log in and wait, as the agent would, until the first sync has brought their contacts ("as of …")."""
    world.login(page, login)
    meta = page.locator("#results .meta")
    for _ in range(6):
        try:
            expect(meta).to_contain_text("as of", timeout=10_000)
            break
        except AssertionError:
            page.reload()  # the list updates itself once the sync lands; a reload is what an impatient user does
    expect(meta).to_contain_text("as of", timeout=LONG)
    expect(page.locator("tr.contact-row").first).to_be_visible()


def until_shown(page, locator, tries: int = 8) -> None:
    """Wait for what the page fetches from flexmls in the background; reload now and then, as a user would."""
    for _ in range(tries):
        try:
            expect(locator).to_be_visible(timeout=8_000)
            return
        except AssertionError:
            page.reload()
    expect(locator).to_be_visible(timeout=LONG)


def filter_by(page, name: str, value: str) -> None:
    page.select_option(f"#search select[name={name}]", value)
    page.wait_for_url(re.compile(rf"{name}={re.escape(quote(value))}(&|$)"))
    expect(page.locator("#results")).to_be_visible()


def pick(page, *names: str) -> None:
    for name in names:
        page.locator("tr.contact-row", has_text=name).locator("input.pick").check()


def row_names(page, n: int) -> list[str]:
    links = page.locator("tr.contact-row td.name a")
    return [links.nth(i).inner_text() for i in range(n)]


def apply(page, action: str, *, tag: str = "", owner: str = "", all_matching: bool = False) -> None:
    if all_matching:
        page.check("#all-matching")
    page.select_option("#bulk-action", action)
    if tag:
        page.fill("#bulk-tag", tag)
    if owner:
        expect(page.locator("#bulk-owner option", has_text=owner)).to_have_count(1, timeout=LONG)
        page.select_option("#bulk-owner", label=page.locator("#bulk-owner option", has_text=owner).inner_text())
    page.click("#bulk-go")


def finished_job(page, total: int, *, failed: int = 0) -> None:
    """The job page: its progress bar runs to the end and every contact has its result."""
    page.wait_for_url(re.compile(r"/(contacts|newsfeeds)/jobs/\d+/"))
    expect(page.locator("#job-progress")).to_be_visible()
    expect(page.locator("#job-summary")).to_contain_text("finished", timeout=LONG)
    expect(page.locator("#job-progress")).to_have_attribute("value", str(total))
    expect(page.locator("#job-summary")).to_contain_text(f"{total - failed} confirmed")
    expect(page.locator("tr.result-confirmed")).to_have_count(total - failed)
    expect(page.locator("tr.result-failed")).to_have_count(failed)


def sim_contact(world, spark_id: str) -> dict:
    return world.sim.control("GET", f"/_sim/contacts/{spark_id}").json()


def spark_ids(names: list[str]) -> list[str]:
    return [Contact.objects.get(owner__user__username="alice", display_name=n).spark_id for n in names]


def test_tag_a_picked_selection_then_all_matching(demo_world, page, phone, screenshot):
    open_contacts(demo_world, page)
    names = row_names(page, 3)
    pick(page, *names)
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    screenshot("bulk-bar")
    apply(page, "tag_add", tag="Spring Mailer")
    finished_job(page, 3)
    screenshot("bulk-job")
    for spark_id in spark_ids(names):
        assert "Spring Mailer" in sim_contact(demo_world, spark_id)["Tags"]

    # All the unconnected contacts, by their filter: the count follows the filter.
    page.click("text=← Contacts")
    filter_by(page, "status", "unconnected")
    matching = int(re.match(r"\d+", page.locator(".total").inner_text()).group())
    expect(page.locator("#all-matching").locator("xpath=..")).to_contain_text(f"all {matching} matching")
    apply(page, "tag_add", tag="Reconnect", all_matching=True)
    finished_job(page, matching)
    unconnected = Contact.objects.filter(owner__user__username="alice", record_status="Unconnected")
    assert all("Reconnect" in sim_contact(demo_world, c.spark_id)["Tags"] for c in unconnected)

    # The same bar and job page at phone width, without sideways scrolling.
    open_contacts(demo_world, phone)
    phone.locator("tr.contact-row input.pick").first.check()
    expect(phone.locator("#bulk-count")).to_have_text("1 selected")
    screenshot("bulk-bar-phone", phone)
    fits_phone(phone, "#contacts-bulk")
    phone.select_option("#bulk-action", "tag_add")
    phone.fill("#bulk-tag", "Phone Tag")
    phone.click("#bulk-go")
    finished_job(phone, 1)
    screenshot("bulk-job-phone", phone)
    fits_phone(phone, "#job")


def fits_phone(page, selector: str) -> None:
    """This part of the page fits 390 px (the page as a whole, top bar included, is no_sideways_scroll's)."""
    box = page.locator(selector).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box


def test_untag_all_matching_a_tag_then_a_picked_selection(demo_world, page):
    open_contacts(demo_world, page)
    names = row_names(page, 4)
    pick(page, *names)
    apply(page, "tag_add", tag="Autumn Mailer")
    finished_job(page, 4)

    page.click("text=← Contacts")
    filter_by(page, "tag", "Autumn Mailer")
    expect(page.locator(".total")).to_have_text("4 contacts")
    apply(page, "tag_remove", tag="Autumn Mailer", all_matching=True)
    finished_job(page, 4)
    assert all("Autumn Mailer" not in sim_contact(demo_world, s)["Tags"] for s in spark_ids(names))

    # Untag by hand: one contact's own tag (from the seeded data) goes, the others' stay.
    page.click("text=← Contacts")
    row = page.locator("tr.contact-row", has=page.locator("td.tags .chip")).first
    name = row.locator("td.name a").inner_text()
    tag = row.locator("td.tags .chip").first.inner_text()
    pick(page, name)
    apply(page, "tag_remove", tag=tag)
    finished_job(page, 1)
    assert tag not in sim_contact(demo_world, spark_ids([name])[0])["Tags"]


def test_transfer_on_a_fresh_install_to_an_agent_of_the_office(demo_world, page, screenshot):
    open_contacts(demo_world, page)
    names = row_names(page, 2)
    ids = spark_ids(names)
    pick(page, *names)
    page.select_option("#bulk-action", "transfer")
    # Nobody refreshed the directory: the app fills it itself, and the picker has a visible label.
    expect(page.locator("label[for=bulk-owner]")).to_have_text("Transfer to", timeout=LONG)
    screenshot("bulk-transfer")
    bob = demo_world.sim.account("bob")
    apply(page, "transfer", owner="Bob")
    finished_job(page, 2)
    for spark_id in ids:
        assert sim_contact(demo_world, spark_id)["OwnerId"] == bob["user_id"]

    # All matching a search: every contact it finds goes to Carol.
    page.click("text=← Contacts")
    target = page.locator("tr.contact-row td.name a").first.inner_text()
    search(page, target)
    expect(page.locator(".total")).to_have_text(re.compile(r"^\d+ contacts?"))
    expect(page.locator("tr.contact-row").first).to_contain_text(target)
    matching = int(re.match(r"\d+", page.locator(".total").inner_text()).group())
    moved = spark_ids([target])
    carol = demo_world.sim.account("carol")
    apply(page, "transfer", owner="Carol", all_matching=True)
    finished_job(page, matching)
    assert sim_contact(demo_world, moved[0])["OwnerId"] == carol["user_id"]


def test_delete_asks_first_then_deletes_a_selection_and_all_matching(demo_world, page):
    open_contacts(demo_world, page)
    names = row_names(page, 2)
    ids = spark_ids(names)
    pick(page, *names)
    page.select_option("#bulk-action", "delete")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.click("#bulk-go")
    expect(page.locator("#bulk-count")).to_have_text("2 selected")  # said no: nothing happened
    assert asked and "Delete 2 contacts from flexmls" in asked[0]
    assert page.url.endswith("/contacts/") or "/contacts/?" in page.url

    page.once("dialog", lambda d: d.accept())
    page.click("#bulk-go")
    finished_job(page, 2)
    alice = demo_world.sim.account("alice")["user_id"]
    left = {c["Id"] for c in demo_world.sim.control("GET", f"/_sim/contacts?owner={alice}").json()["contacts"]}
    assert not set(ids) & left

    page.click("text=← Contacts")
    filter_by(page, "status", "unconnected")
    matching = int(re.match(r"\d+", page.locator(".total").inner_text()).group())
    page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
    apply(page, "delete", all_matching=True)
    finished_job(page, matching)
    assert f"all {matching} matching contacts" in asked[-1]
    page.click("text=← Contacts")
    filter_by(page, "status", "unconnected")
    expect(page.locator(".empty")).to_contain_text("No contacts match")


def test_share_a_selection_and_all_matching(demo_world, page):
    open_contacts(demo_world, page)
    names = row_names(page, 2)
    pick(page, *names)
    apply(page, "share")
    page.wait_for_url(re.compile(r"/sharing/new/\?contacts="))
    for name in names:
        expect(page.locator(".contact-pick label", has_text=name).locator("input")).to_be_checked()
    # The link is made from there: a listing, then "Create link"; its page shows who it went to.
    until_shown(page, page.locator("#picker-results input[type=checkbox]").first)  # the listing cache fills
    for name in names:
        expect(page.locator(".contact-pick label", has_text=name).locator("input")).to_be_checked()
    page.locator("#picker-results input[type=checkbox]").first.check()
    page.click("#create-link")
    page.wait_for_url(re.compile(r"/sharing/\d+/"))
    for name in names:
        expect(page.locator("main")).to_contain_text(name)

    page.goto(demo_world.url + "/contacts/")
    filter_by(page, "status", "unconnected")
    unconnected = list(Contact.objects.filter(owner__user__username="alice", record_status="Unconnected")
                       .values_list("display_name", flat=True))
    apply(page, "share", all_matching=True)
    page.wait_for_url(re.compile(r"/sharing/new/\?contacts="))
    for name in unconnected:
        expect(page.locator(".contact-pick label", has_text=name).locator("input")).to_be_checked()


def test_news_feed_schedule_for_a_selection_and_all_matching(demo_world, page, screenshot):
    open_contacts(demo_world, page)
    page.click("nav >> text=News feeds")
    until_shown(page, page.locator("#feeds tr.feed-row").first)
    live_feeds = page.locator("#feeds tr.feed-row").filter(has_not=page.locator(".badge"))
    with_feed = live_feeds.locator("td:nth-child(2) a").first.inner_text()  # a feed whose notifications are on

    # Hand-picked: find the contact by name, pick it, and carry it to the news feed schedule form.
    page.click("nav >> text=Contacts")
    search(page, with_feed)
    expect(page.locator("tr.contact-row").first).to_contain_text(with_feed)
    page.locator("tr.contact-row", has_text=with_feed).first.locator("input.pick").check()
    apply(page, "newsfeed_schedule")
    page.wait_for_url(re.compile(r"/newsfeeds/bulk/\?contacts="))
    expect(page.locator("#bulk-note")).to_contain_text("chosen below")
    checked = page.locator("input[name=bulk-contacts]:checked")
    expect(checked).to_have_count(1)
    page.check("input[name=bulk-frequency][value=Scheduled]")
    page.check("input[name=bulk-days_of_week][value=Saturday]")
    page.check("input[name=bulk-hours][value='10']")
    page.click("button[name=bulk-action][value=set]")
    page.wait_for_url("**/newsfeeds/jobs/**")
    expect(page.locator("#job-summary")).to_contain_text("finished", timeout=LONG)
    expect(page.locator("#job-progress")).to_be_visible()
    expect(page.locator("tr.result-confirmed").first).to_be_visible()
    screenshot("newsfeeds-bulk-job")

    # All matching: every contact of the list, those with news feeds chosen on the form.
    page.click("nav >> text=Contacts")
    expect(page.locator("tr.contact-row").first).to_be_visible()
    apply(page, "newsfeed_schedule", all_matching=True)
    page.wait_for_url(re.compile(r"/newsfeeds/bulk/\?matching="))
    expect(page.locator("#bulk-note")).to_contain_text("have news feeds")
    assert page.locator("input[name=bulk-contacts]:checked").count() > 1
    page.check("input[name=bulk-frequency][value=Instant]")
    page.click("button[name=bulk-action][value=set]")
    page.wait_for_url("**/newsfeeds/jobs/**")
    expect(page.locator("#job-summary")).to_contain_text("finished", timeout=LONG)
    assert page.locator("tr.result-confirmed").count() >= 1


def test_selection_survives_filter_sort_and_search_then_is_applied(demo_world, page, screenshot):
    open_contacts(demo_world, page)
    first_two = row_names(page, 2)
    pick(page, *first_two)
    expect(page.locator("#bulk-count")).to_have_text("2 selected")

    filter_by(page, "status", "unconnected")
    expect(page.locator("#bulk-count")).to_have_text("2 selected (2 not in this view)")
    expect(page.locator("#bulk-clear")).to_be_visible()
    third = row_names(page, 1)[0]
    pick(page, third)
    expect(page.locator("#bulk-count")).to_have_text("3 selected (2 not in this view)")
    screenshot("bulk-selection-kept")

    filter_by(page, "status", "")
    filter_by(page, "sort", "-score")
    for name in [*first_two, third]:
        row = page.locator("tr.contact-row", has_text=name)
        if row.count():
            expect(row.locator("input.pick")).to_be_checked()
    search(page, first_two[0])
    expect(page.locator("tr.contact-row").first).to_contain_text(first_two[0])
    expect(page.locator("#bulk-count")).to_contain_text("3 selected")
    search(page, "")
    expect(page.locator("#bulk-count")).to_contain_text("3 selected")

    # Each bulk action can be chosen without the list reloading under it (and the selection is still there).
    for action in ("tag_remove", "transfer", "delete", "share", "newsfeed_schedule", "tag_add"):
        page.select_option("#bulk-action", action)
        expect(page.locator("#bulk-count")).to_contain_text("3 selected")
    apply(page, "tag_add", tag="Kept")
    finished_job(page, 3)
    results = page.locator("tr.result-confirmed td:first-child").all_inner_texts()
    assert sorted(results) == sorted([*first_two, third])

    # The job took the selection; the list starts a new one, and "Clear selection" empties one.
    page.click("text=← Contacts")
    expect(page.locator("#bulk-count")).to_have_text("0 selected")
    pick(page, *row_names(page, 1))
    page.click("#bulk-clear")
    expect(page.locator("#bulk-count")).to_have_text("0 selected")
    expect(page.locator("tr.contact-row input.pick:checked")).to_have_count(0)


def test_failures_are_listed_first_with_sparks_reason(demo_world, page, screenshot):
    open_contacts(demo_world, page)
    names = row_names(page, 4)
    gone = names[2]
    # Another flexmls user deletes one of them in flexmls before the agent's tag reaches it.
    demo_world.sim.control("DELETE", f"/_sim/contacts/{spark_ids([gone])[0]}")
    pick(page, *names)
    apply(page, "tag_add", tag="Spring Mailer")
    finished_job(page, 4, failed=1)
    first = page.locator("#job tbody tr").first
    expect(first).to_have_class(re.compile("result-failed"))
    expect(first).to_contain_text(gone)
    expect(first).to_contain_text(re.compile(r"Failed: \S+"))
    expect(page.locator("#job-summary")).to_contain_text("1 failed")
    expect(page.locator("#job-failed-note")).to_contain_text("Needs attention")
    screenshot("bulk-job-failed")
