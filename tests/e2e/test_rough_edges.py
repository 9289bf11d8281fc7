"""The rough edges of an agent's first hour, from the state `make run` leaves, driven only through the page:
a duplicate e-mail caught in the form, a create flexmls refuses, a contact's old page after it left, the Instant
schedule, a shared saved search, and Esc in the search box — at desktop and at phone width."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from contacts_app.models import Contact
from crm.outbox.models import SparkWrite
from tests.e2e.conftest import PHONE, search
from tests.e2e.journeys import content_width, list_loaded, revisit_until

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

def first_contact_with_email(page) -> tuple[str, str, str]:
    row = page.locator("tr.contact-row").filter(has=page.locator("td.email", has_text="@")).first
    link = row.locator("td.name a")
    return link.inner_text().strip(), row.locator("td.email").inner_text().strip(), link.get_attribute("href")


def test_a_duplicate_email_is_caught_in_the_form_with_a_link_to_the_contact(demo_world, page, phone, screenshot):
    demo_world.login(page, "alice")
    list_loaded(page)
    name, email, href = first_contact_with_email(page)

    page.get_by_role("link", name="New contact").click()
    page.fill("input[name=DisplayName]", "Second Copy")
    page.fill("input[name=PrimaryEmail]", email.upper())
    page.get_by_role("button", name="Create contact").click()
    error = page.locator("label.has-error .field-error")
    expect(error).to_contain_text(f"{name} already has this e-mail.")
    screenshot("rough-duplicate-email")
    assert not SparkWrite.objects.exists()  # nothing was queued for flexmls

    page.locator("#duplicate-link").click()
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))
    expect(page.locator("h1")).to_contain_text(name)

    demo_world.login(phone, "alice")
    list_loaded(phone)
    phone.goto(demo_world.url + "/contacts/new/")
    phone.fill("input[name=DisplayName]", "Second Copy")
    phone.fill("input[name=PrimaryEmail]", email)
    phone.press("input[name=PrimaryEmail]", "Enter")
    expect(phone.locator("#duplicate-link")).to_be_visible()
    screenshot("rough-duplicate-email-phone", phone)
    assert content_width(phone) <= PHONE["width"]


def test_a_phone_another_contact_has_asks_before_creating_and_create_anyway_goes_through(demo_world, page, phone,
                                                                                        screenshot):
    """Two people can share a home phone, so a known phone (typed in another format) is a question, not a refusal:
    the form names the contact who has it, with a link; Enter keeps asking; "Create anyway" creates the contact."""
    demo_world.login(page, "alice")
    list_loaded(page)
    row = page.locator("tr.contact-row").filter(has=page.locator("td.phone", has_text="-")).first
    name, number = row.locator("td.name a").inner_text().strip(), row.locator("td.phone").inner_text().strip()
    digits = "".join(ch for ch in number if ch.isdigit())[-10:]
    typed = f"({digits[:3]}) {digits[3:6]} {digits[6:]}"

    page.get_by_role("link", name="New contact").click()
    page.fill("input[name=DisplayName]", "Housemate Test")
    page.fill("input[name=HomePhoneNumber]", typed)
    page.get_by_role("button", name="Create contact").click()
    expect(page.locator("#same-phone")).to_contain_text(f"{name} already has the phone {typed}. Is this the same")
    expect(page.locator("#same-phone-link")).to_have_text(f"Open {name}")
    screenshot("rough-same-phone")
    page.press("input[name=HomePhoneNumber]", "Enter")  # the form's own button: still asked, nothing created
    expect(page.locator("#same-phone")).to_be_visible()
    assert not SparkWrite.objects.exists()

    demo_world.login(phone, "alice")
    phone.goto(demo_world.url + "/contacts/new/")
    phone.fill("input[name=DisplayName]", "Housemate Test")
    phone.fill("input[name=HomePhoneNumber]", typed)
    phone.press("input[name=HomePhoneNumber]", "Enter")
    expect(phone.locator("#same-phone-save")).to_be_visible()
    screenshot("rough-same-phone-phone", phone)
    assert content_width(phone) <= PHONE["width"]

    page.locator("#same-phone-save").click()
    expect(page.locator("h1")).to_contain_text("Housemate Test")
    expect(page.locator("main")).to_contain_text(typed)


def test_a_create_flexmls_refuses_offers_no_retry_stays_out_of_the_list_and_discards_to_the_list(
        demo_world, page, screenshot):
    demo_world.login(page, "alice")
    list_loaded(page)
    page.get_by_role("link", name="New contact").click()
    page.fill("input[name=DisplayName]", "Refused Person")
    page.fill("input[name=PrimaryEmail]", "refused.person@example.com")
    # Another flexmls user took the address meanwhile: Spark answers 409 (1055) to the create.
    demo_world.sim.faults(error_rate=1.0, error_status=409, error_code=1055)
    try:
        page.get_by_role("button", name="Create contact").click()
        expect(page.locator("h1")).to_contain_text("Refused Person")
        attention = page.get_by_role("link", name=re.compile("Needs attention"))
        row = page.locator("table.attention tr", has_text="Refused Person")
        deadline = time.monotonic() + 30
        while not row.count():
            assert time.monotonic() < deadline, "the refused create never reached Needs attention"
            page.wait_for_timeout(1000)
            attention.click()
    finally:
        demo_world.sim.clear_faults()
    expect(row).to_contain_text("Simulated failure")
    expect(row.get_by_role("button", name="Discard")).to_be_visible()
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)  # a duplicate would be refused again
    expect(row).to_contain_text("flexmls would refuse it again")
    screenshot("rough-refused-create-attention")

    # Not in the list, so no "all matching" bulk action sweeps it up.
    page.get_by_role("link", name="Contacts", exact=True).click()
    list_loaded(page)
    search(page, "Refused Person")
    expect(page.locator("#results .empty")).to_contain_text("No contacts match")

    page.get_by_role("link", name=re.compile("Needs attention")).click()
    row.get_by_role("link", name="Refused Person").click()
    expect(page.locator("h1")).to_contain_text("Refused Person")
    page.get_by_role("button", name="Discard").click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    expect(page.locator("#messages")).to_contain_text("Discarded Refused Person: flexmls never created this contact")
    screenshot("rough-refused-create-discarded")
    assert not Contact.objects.filter(display_name="Refused Person").exists()


def test_a_deleted_contacts_old_page_says_so_in_the_apps_layout(demo_world, page, phone, screenshot):
    demo_world.login(page, "alice")
    list_loaded(page)
    link = page.locator("tr.contact-row td.name a").first
    name = link.inner_text().strip()
    link.click()
    old = page.url
    page.locator("details.delete summary").click()
    page.get_by_role("button", name="Delete contact").click()
    expect(page.locator("#undo")).to_contain_text(name)

    response = revisit_until(page, old, "#gone-note")
    assert response.status == 404
    expect(page.locator("#gone-note")).to_contain_text(re.compile(rf"{re.escape(name)} was\s+deleted\s+on \d+ \w+ \d{{4}}"))
    expect(page.locator("header.topbar nav")).to_contain_text("Needs attention")  # the app's layout and navigation
    screenshot("rough-deleted-404")

    demo_world.login(phone, "alice")
    phone.goto(old)
    expect(phone.locator("#gone-note")).to_contain_text("deleted")
    screenshot("rough-deleted-404-phone", phone)
    assert content_width(phone) <= PHONE["width"]

    page.get_by_role("button", name="Log out").click()
    demo_world.login(page, "bob")  # another agent learns nothing about alice's contact
    page.goto(old)
    expect(page.locator("#not-found")).to_contain_text("Page not found")
    expect(page.locator("#not-found")).not_to_contain_text(name)


def test_a_transferred_contacts_old_page_says_to_whom_and_when(demo_world, page, screenshot):
    demo_world.login(page, "alice")
    list_loaded(page)
    link = page.locator("tr.contact-row td.name a").first
    name = link.inner_text().strip()
    link.click()
    old = page.url
    page.locator("details.transfer summary").click()
    options = page.locator("details.transfer select option:not([value=''])")
    try:
        expect(options.first).to_be_attached(timeout=20_000)
    except AssertionError:
        pytest.skip("the Transfer list offers no agent on a fresh install (the agent directory is another part)")
    target = options.first.inner_text().split(" — ")[0].strip()
    page.locator("details.transfer select").select_option(index=1)
    page.get_by_role("button", name="Transfer", exact=True).click()

    revisit_until(page, old, "#gone-note")
    expect(page.locator("#gone-note")).to_contain_text(f"{name} was")
    expect(page.locator("#gone-note")).to_contain_text(f"transferred to {target}")
    screenshot("rough-transferred-404")


def test_instant_clears_the_hours_and_days(demo_world, page, phone, screenshot):
    demo_world.login(page, "alice")
    page.get_by_role("link", name="News feeds", exact=True).click()
    page.get_by_role("link", name=re.compile("the default schedule")).click()
    form = page.locator("#default-form")
    form.locator("input[name=default-frequency][value=Scheduled]").check()
    form.locator("input[name=default-days_of_week][value=Monday]").check()
    form.locator("input[name=default-hours][value='8']").check()
    expect(form.locator(".preview")).to_contain_text("Mondays at 8 am", timeout=15_000)

    form.locator("input[name=default-frequency][value=Instant]").check()
    for box in ("input[name=default-days_of_week][value=Monday]", "input[name=default-hours][value='8']"):
        expect(form.locator(box)).not_to_be_checked()
        expect(form.locator(box)).to_be_disabled()
    expect(form.locator(".preview")).to_contain_text("Instantly", timeout=15_000)
    expect(form.locator(".preview")).not_to_contain_text("takes no hours")
    screenshot("rough-instant")
    seq = demo_world.sim.last_seq()
    page.get_by_role("button", name="Save default schedule").click()
    expect(page.locator("#default-current")).to_contain_text("Instantly")

    form.locator("input[name=default-frequency][value=Scheduled]").check()
    expect(form.locator("input[name=default-hours][value='8']")).to_be_enabled()

    def sent():
        return [json.loads(r["body"]) for r in demo_world.sim.requests_since(seq)
                if r["method"] in ("POST", "PUT") and r["path"].startswith("/v1/newsfeeds/schedule") and r["body"]]
    deadline = time.monotonic() + 30
    while not sent():
        assert time.monotonic() < deadline, "the Instant default schedule never reached flexmls"
        time.sleep(0.5)
    [body] = sent()
    assert body["D"]["Frequency"] == "Instant"
    assert not any(body["D"].get(k) for k in ("HoursOfDay", "DaysOfWeek", "DaysOfMonth"))

    demo_world.login(phone, "alice")
    phone.goto(demo_world.url + "/newsfeeds/schedule/")
    expect(phone.locator("input[name=default-hours][value='8']")).to_be_disabled()
    screenshot("rough-instant-phone", phone)
    assert content_width(phone) <= PHONE["width"]


def test_a_shared_saved_search_shows_its_name_and_the_link_arrives_without_a_reload(demo_world, page, phone,
                                                                                    screenshot):
    demo_world.login(page, "alice")
    page.get_by_role("link", name="Shared links", exact=True).click()
    page.get_by_role("link", name="Share listings").click()
    new = page.url
    revisit_until(page, new, "#id_saved_search option:nth-child(2)")  # the saved searches arrive in the background
    page.check("input[name=what][value=search]")
    option = page.locator("#id_saved_search option").nth(1)
    search_name = option.inner_text().strip()
    page.select_option("#id_saved_search", index=1)
    page.click("#create-link")

    expect(page.locator("#creating-link")).to_contain_text(f"Creating the link to Saved search “{search_name}”")
    expect(page.locator("#link-status .share-uri")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Creating the link")).to_have_count(0)  # gone without a reload
    expect(page.locator("#link-search .search-name")).to_have_text(search_name)
    expect(page.locator("h1")).to_contain_text(search_name)
    assert " Eq " not in page.locator("main").inner_text()  # no raw SparkQL
    screenshot("rough-shared-search")

    demo_world.login(phone, "alice")
    phone.goto(page.url)
    expect(phone.locator("#link-search .search-name")).to_have_text(search_name)
    screenshot("rough-shared-search-phone", phone)
    assert content_width(phone) <= PHONE["width"]


def test_esc_in_the_search_box_clears_the_search_and_the_results(demo_world, page):
    demo_world.login(page, "alice")
    list_loaded(page)
    total = page.locator(".total").inner_text()
    name = page.locator("tr.contact-row td.name a").nth(3).inner_text().strip()
    page.keyboard.press("/")
    page.keyboard.type(name)
    expect(page.locator(".total")).not_to_have_text(total)
    expect(page).to_have_url(re.compile(r"q=[^&]"))
    page.keyboard.press("Escape")
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator(".total")).to_have_text(total)
    expect(page).not_to_have_url(re.compile(r"q=[^&]"))
    # A filter chosen after Esc still works (the search form is back to its normal state).
    page.keyboard.press("j")
    expect(page.locator("tr.contact-row.cursor")).to_have_count(1)
