"""Merging a duplicate pair, from the state `make run` leaves: a pair planted in flexmls (sparksim) is found after
the sync, opened side by side with what a delete would lose, merged, undone within the window (nothing sent),
merged again; flexmls then holds one contact with the chosen field and both contacts' tags. At 390 px the merge
page does not scroll sideways. Only the page is driven."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, no_sideways_scroll
from tests.e2e.test_duplicates import group_of, wait_for_group

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

WAIT = 30_000


def plant_pair(world) -> tuple[dict, dict]:
    owner = world.sim.account("alice")["user_id"]
    contacts = world.sim.control("GET", f"/_sim/contacts?owner={owner}").json()["contacts"]
    with_email = [c for c in contacts if c.get("PrimaryEmail")]
    a = with_email[0]
    b = next(c for c in with_email[1:] if c["DisplayName"] != a["DisplayName"])
    world.sim.control("PATCH", f"/_sim/contacts/{a['Id']}", json={"HomeLocality": "Fargo", "Tags": ["Buyer"]})
    world.sim.control("PATCH", f"/_sim/contacts/{b['Id']}",
                      json={"PrimaryEmail": a["PrimaryEmail"].upper(), "HomeLocality": "West Fargo",
                            "Tags": ["Lake Cabin"]})
    return a, b


def sim_get(world, spark_id: str):
    return world.sim.http.get(f"{world.sim.url}/_sim/contacts/{spark_id}", timeout=30)


def open_merge(page, a: dict, *, from_duplicates: bool = True) -> None:
    """The pair's merge page (from the duplicates page's Merge…), with `a` kept and the other's city chosen."""
    if from_duplicates:
        group_of(page, f"same e-mail {a['PrimaryEmail'].lower()}").locator(".merge-link").first.click()
    expect(page.locator("h1")).to_have_text("Merge two contacts")
    if a["DisplayName"] in (page.locator("#merge-other-name").text_content() or ""):
        page.locator("#keep-other").click()
        expect(page.locator("#merge-other-name")).not_to_have_text(a["DisplayName"])
    page.locator('tr[data-field="HomeLocality"] input[value="other"]').check()


def test_preview_merge_undo_and_merge_again(demo_world, page, phone, screenshot):
    a, b = plant_pair(demo_world)
    demo_world.login(page, "alice")
    page.locator("#possible-duplicates").click()
    wait_for_group(page, f"same e-mail {a['PrimaryEmail'].lower()}")

    open_merge(page, a)
    expect(page.locator("#merge-tags")).to_contain_text("Lake Cabin")
    expect(page.locator("#merge-tags")).to_contain_text("Buyer")
    expect(page.locator("#merge-radius")).to_contain_text("News feeds")
    expect(page.locator("#radius-activity")).to_contain_text("score")
    screenshot("merge-desktop")

    demo_world.login(phone, "alice")
    phone.goto(page.url)
    expect(phone.locator("#merge-fields")).to_be_visible()
    assert no_sideways_scroll(phone) <= PHONE["width"]
    screenshot("merge-phone", phone)

    # Merge, and undo within the window: nothing reaches flexmls.
    page.locator("#merge-submit").click()
    page.locator("#merge-undo").click()
    expect(page.locator("#merge-state")).to_contain_text("undone", timeout=WAIT)
    page.wait_for_timeout(4000)  # past the window
    assert sim_get(demo_world, b["Id"]).status_code == 200
    assert sim_get(demo_world, a["Id"]).json().get("HomeLocality") == "Fargo"

    # Merge again: flexmls holds one contact, with the chosen city and both contacts' tags.
    page.locator("#merge-again").click()
    open_merge(page, a, from_duplicates=False)
    page.locator("#merge-submit").click()
    expect(page.locator("#merge-state")).to_contain_text("done", timeout=WAIT)
    assert sim_get(demo_world, b["Id"]).status_code == 404
    kept = sim_get(demo_world, a["Id"]).json()
    assert kept["HomeLocality"] == "West Fargo"
    assert {"Buyer", "Lake Cabin"} <= set(kept["Tags"])


def test_a_refused_merge_deletes_nothing_and_says_why(demo_world, page, screenshot):
    """The contact to keep is deleted in flexmls (by the agent, elsewhere) while the merge waits: the PUT is refused,
    the other contact is not deleted, and the page says so with flexmls's reason."""
    a, b = plant_pair(demo_world)
    demo_world.login(page, "alice")
    page.locator("#possible-duplicates").click()
    wait_for_group(page, f"same e-mail {a['PrimaryEmail'].lower()}")
    open_merge(page, a)
    page.locator("#merge-submit").click()
    expect(page.locator("#merge-state")).to_contain_text("waiting", timeout=WAIT)
    assert demo_world.sim.control("DELETE", f"/_sim/contacts/{a['Id']}").status_code in (200, 204)
    expect(page.locator("#merge-state")).to_contain_text("refused by flexmls, nothing was deleted", timeout=WAIT)
    screenshot("merge-refused")
    assert sim_get(demo_world, b["Id"]).status_code == 200  # the other is still in flexmls
