"""Possible duplicates, from the state `make run` leaves: a pair planted in flexmls (sparksim) is found after the
sync, with its reason; "Not duplicates" removes a group without a reload and it stays gone after "Check again";
at 390 px the groups stack without sideways scrolling. The finder is never called from here: the worker does it."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, no_sideways_scroll

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

WAIT = 30_000


def plant_pairs(world) -> tuple[dict, dict, dict, dict]:
    """Four of alice's contacts in flexmls: the second takes the first's e-mail (in capitals), the fourth the
    third's phone (written another way)."""
    owner = world.sim.account("alice")["user_id"]
    contacts = world.sim.control("GET", f"/_sim/contacts?owner={owner}").json()["contacts"]
    seen, chosen = set(), []
    for c in contacts:  # four different names, so the two pairs stay two groups
        first = c["DisplayName"].split()[0]
        if first not in seen and c.get("PrimaryEmail"):
            seen.add(first)
            chosen.append(c)
        if len(chosen) == 4:
            break
    a, b, c, d = chosen
    world.sim.control("PATCH", f"/_sim/contacts/{b['Id']}", json={"PrimaryEmail": a["PrimaryEmail"].upper()})
    world.sim.control("PATCH", f"/_sim/contacts/{c['Id']}", json={"PrimaryPhoneNumber": "701-555-0142"})
    world.sim.control("PATCH", f"/_sim/contacts/{d['Id']}", json={"PrimaryPhoneNumber": "+1 (701) 555 0142"})
    return a, b, c, d


def group_of(page, reason: str):
    return page.locator(".dupe-group", has_text=reason)


def wait_for_group(page, reason: str, timeout: float = 90) -> None:
    """As an agent would: look, and if it is not there yet, press "Check again" (or wait while it checks)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if group_of(page, reason).count():
            return
        again = page.locator("#check-again")
        if again.count() and again.is_visible():
            again.click()
        expect(page.locator("#dupes-checked")).to_contain_text("Last checked", timeout=WAIT)
        page.wait_for_timeout(1000)
    raise AssertionError(f"no group “{reason}” on the page")


def test_planted_duplicates_are_found_and_not_duplicates_is_remembered(demo_world, page, phone, screenshot):
    a, b, c, d = plant_pairs(demo_world)
    email_reason = f"same e-mail {a['PrimaryEmail'].lower()}"
    demo_world.login(page, "alice")
    page.locator("#possible-duplicates").click()
    expect(page.locator("h1")).to_have_text("Possible duplicates")

    wait_for_group(page, email_reason)
    wait_for_group(page, "same phone 701-555-0142")
    pair = group_of(page, email_reason)
    expect(pair).to_contain_text(a["DisplayName"])
    expect(pair).to_contain_text(b["DisplayName"])
    for link in pair.locator(".dupe-member h2 a").all():
        expect(link).to_have_attribute("href", re.compile(r"^/contacts/\d+/$"))

    screenshot("duplicates-desktop")

    # "Not duplicates" on the phone pair: gone at once, without a reload.
    page.evaluate("window.__noReload = true")
    group_of(page, "same phone 701-555-0142").locator("button.not-duplicates").click()
    expect(group_of(page, "same phone 701-555-0142")).to_have_count(0, timeout=WAIT)
    assert page.evaluate("window.__noReload === true")

    # Check again: the worker recomputes; the dismissed pair does not come back, the other is still there.
    page.locator("#check-again").click()
    expect(page.locator("#dupes-checked")).to_contain_text("Checking", timeout=WAIT)
    expect(page.locator("#dupes-checked")).to_contain_text("Last checked", timeout=60_000)
    expect(group_of(page, email_reason)).to_have_count(1)
    expect(group_of(page, "same phone 701-555-0142")).to_have_count(0)
    page.reload()
    expect(group_of(page, email_reason)).to_have_count(1)
    expect(group_of(page, "same phone 701-555-0142")).to_have_count(0)
    expect(page.locator(".dupe-group").first).to_be_visible()

    # At 390 px: the same groups, stacked, nothing to scroll sideways.
    demo_world.login(phone, "alice")
    phone.goto(demo_world.url + "/contacts/duplicates/")
    expect(group_of(phone, email_reason)).to_have_count(1)
    expect(group_of(phone, "same phone 701-555-0142")).to_have_count(0)
    assert no_sideways_scroll(phone) <= PHONE["width"]
    screenshot("duplicates-phone", phone)
    members = group_of(phone, email_reason).locator(".dupe-member")
    first, second = members.nth(0).bounding_box(), members.nth(1).bounding_box()
    assert second["y"] >= first["y"] + first["height"] - 1  # stacked, not squeezed side by side
    phone.goto(demo_world.url + "/contacts/")
    assert no_sideways_scroll(phone) <= PHONE["width"]
