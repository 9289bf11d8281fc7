"""Live state and phone width, from the state `make run` leaves, driven only through the page.

A write's pending mark turns confirmed or refused without a reload; the list fills in while the first sync runs;
every main page fits a 390 px phone without sideways scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from contacts_app.models import Contact
from crm.outbox.models import SparkWrite
from tests.e2e.conftest import ARTIFACTS, no_sideways_scroll

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

WAIT = 30_000  # the box is shared: generous, as a user would wait
# A refusal that may pass on a later try (a 403 or 409 would be refused again, so no Retry is offered for those).
REFUSAL = {"error_rate": 1, "error_status": 400, "error_code": 1040}


def mark_page(page) -> None:
    """A marker that a reload would wipe: checked at the end to prove nothing reloaded."""
    page.evaluate("window.__noReload = true")


def not_reloaded(page) -> bool:
    return page.evaluate("window.__noReload === true")


def open_first_contact(page) -> str:
    expect(page.locator("tr.contact-row")).to_have_count(50, timeout=WAIT)
    link = page.locator("tr.contact-row td.name a").first
    name = link.inner_text()
    link.click()
    expect(page.locator("h1")).to_contain_text(name)
    return name


def nav(page, text: str) -> None:
    """Follow a link of the top menu as a person would at this width (phones open the menu first)."""
    toggle = page.locator(".menu-toggle")
    if toggle.is_visible():
        toggle.click()
    page.locator("#site-menu nav a", has_text=text).click()


def test_a_tag_shows_pending_then_confirmed_without_a_reload(demo_world, page):
    demo_world.login(page, "alice")
    name = open_first_contact(page)
    mark_page(page)
    # flexmls is slow today: the pending mark is there long enough to be seen.
    demo_world.sim.faults(latency_ms=300)

    page.fill("#tag-input", "Open House 2026")
    page.locator(".tag-add button").click()

    chip = page.locator('#tag-chips .chip[data-tag="Open House 2026"]')
    expect(chip).to_have_attribute("data-state", "pending", timeout=WAIT)
    expect(chip.locator(".state-pending")).to_be_visible()
    expect(page.locator("#contact-state .state-pending")).to_be_visible()
    expect(page.locator("#history tbody tr").first).to_contain_text("Added tag Open House 2026")

    expect(chip).to_have_attribute("data-state", "confirmed", timeout=WAIT)
    expect(chip.locator(".state-pending")).to_have_count(0)
    expect(page.locator("#contact-state .state")).to_have_count(0)
    expect(page.locator("#history tbody tr").first).to_contain_text("Confirmed by flexmls")
    assert not_reloaded(page)
    contact = Contact.objects.get(display_name=name, owner__user__username="alice")
    assert "Open House 2026" in demo_world.sim.control("GET", f"/_sim/contacts/{contact.spark_id}").json()["Tags"]


def test_a_refused_write_shows_where_the_agent_looks_then_retry_goes_through(demo_world, page, screenshot):
    demo_world.login(page, "alice")
    name = open_first_contact(page)
    # flexmls is down for a few seconds, then refuses this key's changes.
    demo_world.sim.faults(outage_s=8, **REFUSAL)

    page.fill("#tag-input", "Refused Tag")
    page.locator(".tag-add button").click()
    expect(page.locator('#tag-chips .chip[data-tag="Refused Tag"]')).to_have_attribute("data-state", "pending")

    # In the list the row waits (pending), then shows the refusal with Spark's message, without a reload.
    nav(page, "Contacts")
    mark_page(page)
    row = page.locator("tr.contact-row", has_text=name)
    expect(row.locator(".state-pending")).to_be_visible(timeout=WAIT)
    expect(row.locator(".state-failed")).to_contain_text("flexmls refused: Simulated failure", timeout=WAIT)
    assert not_reloaded(page)
    screenshot("live-refused-row")

    # On the contact page the chip is red, with the message and what the agent can do about it.
    row.locator("td.name a").click()
    refusal = page.locator('.chip-refusal[data-tag="Refused Tag"]')
    expect(refusal).to_contain_text("flexmls refused adding “Refused Tag”: Simulated failure")
    expect(refusal.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("#contact-state .state-failed")).to_have_text("flexmls refused a change")

    # Still refusing: a second tag turns from pending to refused while the agent looks at the page.
    mark_page(page)
    page.fill("#tag-input", "Second Tag")
    page.locator(".tag-add button").click()
    chip = page.locator('#tag-chips .chip[data-tag="Second Tag"]')
    expect(chip).to_have_attribute("data-state", "pending")
    expect(chip).to_have_attribute("data-state", "failed", timeout=WAIT)
    expect(page.locator('.chip-refusal[data-tag="Second Tag"]')).to_contain_text("Simulated failure")
    expect(page.locator("#history tbody tr").first).to_contain_text("Added tag Second Tag")
    expect(page.locator("#history tbody tr").first).to_contain_text("Refused by flexmls: Simulated failure")
    assert not_reloaded(page)
    screenshot("live-refused-chip")

    # flexmls takes changes again: Retry one, Discard the other, and the page follows.
    demo_world.sim.clear_faults()
    page.locator('.chip-refusal[data-tag="Refused Tag"]').get_by_role("button", name="Retry").click()
    page.locator('.chip-refusal[data-tag="Second Tag"]').get_by_role("button", name="Discard").click()
    mark_page(page)
    chip = page.locator('#tag-chips .chip[data-tag="Refused Tag"]')
    expect(chip).to_have_attribute("data-state", "confirmed", timeout=WAIT)
    expect(page.locator(".chip-refusal")).to_have_count(0)
    expect(page.locator("#contact-state .state")).to_have_count(0, timeout=WAIT)
    assert not_reloaded(page)
    nav(page, "Contacts")
    row = page.locator("tr.contact-row", has_text=name)
    expect(row.locator(".state")).to_have_count(0, timeout=WAIT)
    expect(row.locator("td.tags")).to_contain_text("Refused Tag")
    assert not SparkWrite.objects.filter(status__in=[*SparkWrite.OPEN, SparkWrite.Status.FAILED]).exists()


def test_the_list_fills_in_while_the_first_sync_runs(demo_world, page, screenshot):
    demo_world.sim.faults(latency_ms=400)  # a slow flexmls: the first sync takes a while
    demo_world.login(page, "carol")
    mark_page(page)
    expect(page.locator(".total")).to_have_text(re.compile(r"^[1-9]\d* contacts?"), timeout=WAIT)
    expect(page.locator("tr.contact-row").first).to_be_visible(timeout=WAIT)
    expect(page.locator(".meta")).to_contain_text("as of", timeout=WAIT)
    expect(page.locator("#list-meta[hx-trigger]")).to_have_count(0)  # settled: polling stopped
    total = Contact.objects.filter(owner__user__username="carol").count()
    expect(page.locator("tr.contact-row")).to_have_count(min(total, 50), timeout=WAIT)
    assert not_reloaded(page)
    screenshot("live-list-filled")


PAGES_DESKTOP_AND_PHONE = "contacts list, contact page, edit form, new contact, needs attention, bulk job, " \
    "news feeds, default schedule, a feed, shared links, new shared link"


def _visit_every_page(world, p, label: str, screenshot, widths: list[tuple[str, int]]) -> None:
    """Walk every main page by clicking, as an agent would; record the scroll width of each."""

    def check(name: str) -> None:
        p.wait_for_load_state("networkidle")
        screenshot(f"{label}-{name}", p)
        widths.append((name, no_sideways_scroll(p)))

    expect(p.locator("tr.contact-row")).to_have_count(50, timeout=WAIT)
    check("contacts")
    p.locator("tr.contact-row td.name a").first.click()
    expect(p.locator("#tags")).to_be_visible()
    expect(p.locator("#activity h2")).not_to_contain_text("refreshing", timeout=WAIT)  # activity arrives by itself
    check("contact")
    p.locator("#edit-link").click()
    expect(p.locator("form")).not_to_have_count(0)
    check("edit")
    nav(p, "Contacts")
    p.get_by_role("link", name="New contact").click()
    check("new-contact")
    nav(p, "Needs attention")
    check("attention")
    nav(p, "Contacts")
    p.locator("tr.contact-row input.pick").nth(0).check()
    p.locator("tr.contact-row input.pick").nth(1).check()
    expect(p.locator("#contacts-bulk")).to_be_visible()
    p.fill("#bulk-tag", "Phone Check")
    p.locator("#bulk-go").click()
    p.wait_for_url(re.compile(r"/contacts/jobs/\d+/"))
    check("bulk-job")
    nav(p, "News feeds")
    check("newsfeeds")
    p.get_by_role("link", name=re.compile("the default schedule")).click()
    check("default-schedule")
    nav(p, "News feeds")
    feed = p.locator("table a", has_text="Change").first
    for _ in range(10):  # the feeds arrive with beat's refresh; the agent looks again
        if feed.count():
            break
        p.wait_for_timeout(2000)
        nav(p, "News feeds")
    if feed.count():
        feed.click()
        check("feed")
    nav(p, "Shared links")
    check("sharing")
    p.get_by_role("link", name="Share listings").first.click()
    check("sharing-new")


def test_every_main_page_fits_a_phone_and_a_desktop(demo_world, page, phone, screenshot):
    demo_world.login(phone, "alice")
    widths: list[tuple[str, int]] = []
    _visit_every_page(demo_world, phone, "phone", screenshot, widths)
    assert {n for n, _ in widths} >= {"contacts", "contact", "edit", "new-contact", "attention", "bulk-job",
                                      "newsfeeds", "default-schedule", "sharing", "sharing-new"}
    too_wide = [(n, w) for n, w in widths if w > 390]
    assert not too_wide, f"pages scroll sideways at 390 px: {too_wide}"

    demo_world.login(page, "bob")
    desktop: list[tuple[str, int]] = []
    _visit_every_page(demo_world, page, "desktop", screenshot, desktop)
    assert all(w <= 1280 for _, w in desktop), desktop


def test_the_phone_menu_opens_and_long_values_wrap(demo_world, phone, screenshot):
    demo_world.login(phone, "alice")
    expect(phone.locator("tr.contact-row")).to_have_count(50, timeout=WAIT)
    phone.screenshot(path=str(ARTIFACTS / "phone-contacts-viewport.png"))
    expect(phone.locator("#site-menu nav")).to_be_hidden()
    phone.locator(".menu-toggle").click()
    expect(phone.locator("#site-menu nav a", has_text="Needs attention")).to_be_visible()
    phone.screenshot(path=str(ARTIFACTS / "phone-menu-open-viewport.png"))
    phone.keyboard.press("Escape")

    # A very long name, e-mail and note, typed as an agent would, never push the page sideways.
    phone.get_by_role("link", name="New contact").click()
    long_name = "Bartholomew-Maximilian Featherstonehaugh-Cholmondeley"
    phone.fill("input[name=DisplayName]", long_name)
    phone.fill("input[name=PrimaryEmail]", "bartholomew.featherstonehaugh@averyverylongdomainname.example.com")
    phone.fill("textarea[name=Note]", "x" * 300)
    phone.locator(".contact-form button[type=submit]").click()
    expect(phone.locator("h1")).to_contain_text("Bartholomew", timeout=WAIT)
    screenshot("phone-long-values", phone)
    phone.screenshot(path=str(ARTIFACTS / "phone-long-values-viewport.png"))
    assert no_sideways_scroll(phone) <= 390
