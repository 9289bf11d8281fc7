"""The contacts workspace in a real browser, from the state `make run` leaves (demo_world: sparksim, demo_setup, a
real worker and beat), driven only through the page."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from contacts_app.models import Contact
from crm.agents.models import SparkAccount
from crm.outbox.models import SparkWrite
from tests.e2e.conftest import WORLD_ENV, search
from tests.e2e.test_bulk_journeys import open_contacts

pytestmark = [pytest.mark.e2e, pytest.mark.worker]


@pytest.fixture
def alice(demo_world, page):
    """Alice logged in on `page`, her first sync (queued by demo_setup) landed in her list."""
    open_contacts(demo_world, page, "alice")
    return SparkAccount.objects.get(user__username="alice")


def sim_contact(sim, spark_id):
    return sim.control("GET", f"/_sim/contacts/{spark_id}").json()


def test_list_filters_sort_and_contact_page(alice, demo_world, page, screenshot):
    total = Contact.objects.filter(owner=alice).count()
    expect(page.locator(".total")).to_have_text(f"{total} contacts")
    screenshot("contact-list")

    page.select_option("select[name=sort]", "-score")
    page.wait_for_url(re.compile(r"sort=-score"))
    top = Contact.objects.filter(owner=alice).order_by("-score").first()
    expect(page.locator("tr.contact-row td.name a").first).to_have_text(top.display_name)

    page.select_option("select[name=status]", "unconnected")
    page.wait_for_url(re.compile(r"status=unconnected"))
    unconnected = Contact.objects.filter(owner=alice, record_status="Unconnected").count()
    expect(page.locator(".total")).to_have_text(f"{unconnected} contact{'s' if unconnected != 1 else ''}")
    page.go_back()
    page.wait_for_url(re.compile(r"sort=-score$"))
    expect(page.locator(".total")).to_have_text(f"{total} contacts")

    page.locator("tr.contact-row td.name a").first.click()
    expect(page.locator("h1")).to_contain_text(top.display_name)
    expect(page.locator("#activity .sparkline")).to_be_visible(timeout=20_000)  # fetched on open by the worker
    expect(page.locator("#score")).to_have_text(str(top.score))
    activity = Contact.objects.get(pk=top.pk).activity
    if activity.viewed_listings:  # the listings the contact viewed, with address and price
        first = activity.viewed_listings[0]
        expect(page.locator("#activity ul.listings li").first).to_contain_text(first["address"])
    screenshot("contact-page")


def test_tag_and_untag_inline(alice, demo_world, page):
    contact = Contact.objects.filter(owner=alice, record_status="Connected").order_by("display_name").first()
    page.goto(f"{demo_world.url}/contacts/{contact.pk}/")
    page.fill("#tag-input", "Open House Visitor")
    page.click(".tag-add button")
    expect(page.locator("#tags .chip", has_text="Open House Visitor")).to_be_visible()
    expect(page.locator("#tags .state-pending")).to_be_visible()
    write = SparkWrite.objects.get(contact=contact, kind="tag_add")
    _wait_confirmed(write)
    assert "Open House Visitor" in sim_contact(demo_world.sim, contact.spark_id)["Tags"]

    page.locator("#tags .chip", has_text="Open House Visitor").locator("button").click()
    expect(page.locator("#tags .chip", has_text="Open House Visitor")).to_have_count(0)
    _wait_confirmed(SparkWrite.objects.get(contact=contact, kind="tag_remove"))
    assert "Open House Visitor" not in sim_contact(demo_world.sim, contact.spark_id)["Tags"]

    page.fill("#tag-input", "x" * 80)
    page.click(".tag-add button")
    expect(page.locator("#tags .field-error")).to_contain_text("at most 75 characters")


def _wait_confirmed(write, timeout=30):
    from tests.conftest import wait_for

    wait_for(lambda: SparkWrite.objects.get(pk=write.pk).status == "confirmed", timeout=timeout,
             message=f"write {write.pk} confirmed")


def test_edit_checks_limits_in_the_form_and_sends_only_changes(alice, demo_world, page):
    contact = Contact.objects.filter(owner=alice, record_status="Connected").order_by("display_name").first()
    page.goto(f"{demo_world.url}/contacts/{contact.pk}/")
    page.keyboard.press("e")
    page.wait_for_url(re.compile(r"/edit/$"))
    # The browser stops typing at the limit (maxlength); the server checks it too, whatever the browser does.
    assert page.get_attribute("input[name=DisplayName]", "maxlength") == "75"
    page.eval_on_selector("input[name=DisplayName]", "el => el.removeAttribute('maxlength')")
    page.fill("input[name=DisplayName]", "y" * 76)
    page.click(".contact-form button[type=submit]")
    expect(page.locator("label.has-error .field-error")).to_contain_text("at most 75 characters")
    assert not SparkWrite.objects.filter(contact=contact).exists()

    page.fill("input[name=DisplayName]", contact.display_name)
    page.fill("input[name=ReferredBy]", "Mr. Crowley")
    seq = demo_world.sim.last_seq()
    page.click(".contact-form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Saved")
    _wait_confirmed(SparkWrite.objects.get(contact=contact, kind="update"))
    puts = [r for r in demo_world.sim.requests_since(seq) if r["method"] == "PUT"]
    assert len(puts) == 1 and json.loads(puts[0]["body"]) == {"D": {"ReferredBy": "Mr. Crowley"}}


def test_create_contact_then_duplicate_email_is_shown_failed(alice, demo_world, page):
    page.click("text=New contact")
    page.fill("input[name=DisplayName]", "Nora New")
    page.fill("input[name=PrimaryEmail]", "not-an-email")
    page.click(".contact-form button[type=submit]")
    expect(page.locator(".field-error").first).to_contain_text("valid email")
    page.fill("input[name=PrimaryEmail]", "nora.new@example.org")
    page.click(".contact-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Nora New")
    created = Contact.objects.get(owner=alice, display_name="Nora New")
    _wait_confirmed(created.writes.get())
    assert Contact.objects.get(pk=created.pk).spark_id

    # A second contact with an e-mail the agent already has is caught in the form, before anything is queued
    # (flexmls's own refusal of a duplicate, for a race with another flexmls user, is in test_rough_edges).
    taken = Contact.objects.filter(owner=alice).exclude(primary_email="").exclude(pk=created.pk).first()
    page.goto(f"{demo_world.url}/contacts/new/")
    page.fill("input[name=DisplayName]", "Dup Licate")
    page.fill("input[name=PrimaryEmail]", taken.primary_email.upper())
    page.click(".contact-form button[type=submit]")
    expect(page.locator(".field-error").first).to_contain_text(f"{taken.display_name} already has this e-mail")
    page.click("#duplicate-link")
    expect(page.locator("h1")).to_contain_text(taken.display_name)
    assert not Contact.objects.filter(owner=alice, display_name="Dup Licate").exists()


def test_rejected_transfer_shows_sparks_reason(alice, demo_world, page):
    contact = Contact.objects.filter(owner=alice, record_status="Connected").order_by("display_name").first()
    page.goto(f"{demo_world.url}/contacts/{contact.pk}/")
    page.click("summary:has-text('Transfer')")
    # The picker fills itself from flexmls (nobody refreshed anything): Bob, of Alice's office.
    expect(page.locator("label[for=id_owner_id]")).to_have_text("Transfer to")
    page.select_option("select[name=owner_id]", label=page.locator("select[name=owner_id] option",
                                                                    has_text="Bob").inner_text())
    # Meanwhile another flexmls user deletes the contact in flexmls: Spark refuses the transfer.
    demo_world.sim.control("DELETE", f"/_sim/contacts/{contact.spark_id}")
    page.click("button:has-text('Transfer')")
    expect(page.locator(".flash")).to_contain_text("Transferring")
    from tests.conftest import wait_for

    write = wait_for(lambda: SparkWrite.objects.filter(contact=contact, kind="transfer", status="failed").first(),
                     message="the transfer to be refused")
    page.reload()
    expect(page.locator(".write-failed")).to_contain_text(write.spark_message)
    page.click(".write-failed button:has-text('Discard')")
    expect(page.locator(".flash")).to_contain_text("Discarded")
    expect(page.locator(".write-failed")).to_have_count(0)


def test_delete_undone_in_time_never_reaches_spark(alice, demo_world, page):
    contact = Contact.objects.filter(owner=alice, record_status="Connected").order_by("display_name").first()
    page.goto(f"{demo_world.url}/contacts/{contact.pk}/")
    page.click("summary:has-text('Delete')")
    expect(page.locator("form.confirm")).to_contain_text("saved searches")
    seq = demo_world.sim.last_seq()
    page.click("button:has-text('Delete contact')")
    expect(page.locator("#undo")).to_contain_text(contact.display_name)
    expect(page.locator("tr.contact-row", has_text=contact.display_name)).to_have_count(0)
    page.click("#undo button:has-text('Undo')")
    expect(page.locator(".flash")).to_contain_text("was not deleted")
    expect(page.locator("tr.contact-row", has_text=contact.display_name)).to_have_count(1)
    page.wait_for_timeout(1500)
    assert not [r for r in demo_world.sim.requests_since(seq) if r["method"] == "DELETE"]
    assert SparkWrite.objects.get(contact=contact, kind="delete").status == "cancelled"


def test_bulk_tag_200_contacts_with_live_progress(demo_world, page, screenshot, start_worker):
    owner = demo_world.sim.account("bob")["user_id"]
    # 200 contacts added in flexmls (as another flexmls user would); the app's own syncs bring them in.
    demo_world.sim.control("POST", f"/_sim/agents/{owner}/contacts", json={"count": 200})
    start_worker(**WORLD_ENV)
    start_worker(**WORLD_ENV)
    open_contacts(demo_world, page, "bob")
    bob = SparkAccount.objects.get(user__username="bob")
    for _ in range(12):
        if Contact.objects.filter(owner=bob, record_status="Connected").count() >= 200:
            break
        page.wait_for_timeout(5_000)
    page.reload()
    page.select_option("select[name=status]", "connected")
    page.wait_for_url(re.compile(r"status=connected"))
    matching = Contact.objects.filter(owner=bob, record_status="Connected").count()
    assert matching >= 200
    expect(page.locator(".total")).to_have_text(f"{matching} contacts")  # the filtered list is in place
    page.locator("tr.contact-row input.pick").first.check()
    page.check("#all-matching")
    page.select_option("#bulk-action", "tag_add")
    page.fill("#bulk-tag", "Spring Mailer")
    page.click("#bulk-go")
    page.wait_for_url(re.compile(r"/contacts/jobs/\d+/"))
    expect(page.locator("#job-summary")).to_contain_text(f"of {matching} done")
    screenshot("bulk-progress")
    expect(page.locator("#job-summary")).to_contain_text("finished", timeout=120_000)
    expect(page.locator("#job-summary")).to_contain_text(f"{matching} confirmed")
    assert page.locator("tr.result-confirmed").count() == matching
    tagged = [c for c in demo_world.sim.control("GET", f"/_sim/contacts?owner={owner}").json()["contacts"]
              if "Spring Mailer" in (c.get("Tags") or [])]
    assert len(tagged) == matching


def test_keyboard_moves_selects_and_opens(alice, demo_world, page):
    page.keyboard.press("?")
    expect(page.locator("dialog#keys")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("tr.contact-row").nth(1)).to_have_class(re.compile("cursor"))
    page.keyboard.press("k")
    expect(page.locator("tr.contact-row").nth(0)).to_have_class(re.compile("cursor"))
    page.keyboard.press("x")
    expect(page.locator("#contacts-bulk")).to_be_visible()
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    page.keyboard.press("t")
    expect(page.locator("#bulk-tag")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.press("Escape")
    first = page.locator("tr.contact-row td.name a").first.inner_text()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(first)


def test_narrow_window_still_lists_and_searches(alice, demo_world, phone):
    demo_world.login(phone, "alice")
    expect(phone.locator("tr.contact-row").first).to_be_visible()
    expect(phone.locator("th:has-text('Phone')")).to_be_hidden()
    search(phone, alice.contacts.order_by("display_name").first().display_name)
    expect(phone.locator(".total")).to_have_text(re.compile(r"^\d+ contacts?$"))


def test_bulk_share_opens_the_share_form_with_the_selection(alice, demo_world, page):
    rows = page.locator("tr.contact-row")
    names = [rows.nth(i).locator("td.name a").inner_text() for i in range(2)]
    rows.nth(0).locator("input.pick").check()
    rows.nth(1).locator("input.pick").check()
    page.select_option("#bulk-action", "share")
    page.click("#bulk-go")
    page.wait_for_url(re.compile(r"/sharing/new/\?contacts="))
    for name in names:
        expect(page.locator("body")).to_contain_text(name)
