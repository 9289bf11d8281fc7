"""A broker sees and resolves a client held by two agents, in a real browser, from the world `make run` leaves:
alice and bob (the broker's office) each hold a contact with the same e-mail in flexmls; the broker finds the
page from the admin's index, marks one shared client as intended (it stays gone) and transfers the other to alice
(flexmls then shows alice as its owner). Only the page is driven; sparksim is read to check the outcome."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.test_broker_admin import TIMEOUT, admin_login

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def plant(sim) -> tuple[list[dict], list[dict]]:
    """As the agents would in flexmls: alice's and bob's first two contacts pair up on two e-mails."""
    books = []
    for login in ("alice", "bob"):
        owner = sim.account(login)["user_id"]
        books.append([c for c in sim.control("GET", f"/_sim/contacts?owner={owner}").json()["contacts"]
                      if c.get("PrimaryEmail")][:2])
    alices, bobs = books
    for i, email in enumerate(("kept.by.both@shared.example", "moves.to.alice@shared.example")):
        for c in (alices[i], bobs[i]):
            sim.control("PATCH", f"/_sim/contacts/{c['Id']}", json={"PrimaryEmail": email})
    return alices, bobs


def check_until(page, email: str, timeout_s: float = 90) -> None:
    """As a broker would: look, and if the client is not there yet, press "Check again" and look again."""
    deadline = time.monotonic() + timeout_s
    while not group(page, email).count():
        if time.monotonic() > deadline:
            raise AssertionError(f"{email} not shown after {timeout_s} s")
        page.locator("#check-again").click()
        page.wait_for_timeout(2000)
        page.reload()


def group(page, email: str):
    return page.locator(".shared-group", has_text=email)


def test_a_broker_sees_a_client_two_agents_hold_and_resolves_it(demo_world, page):
    sim = demo_world.sim
    alices, bobs = plant(sim)
    admin_login(page, demo_world)
    page.locator("#content-main").get_by_role("link", name="Clients held by two or more agents").click()
    expect(page.locator("h1")).to_have_text("Clients held by two or more agents")
    check_until(page, "moves.to.alice@shared.example")
    check_until(page, "kept.by.both@shared.example")

    kept = group(page, "kept.by.both@shared.example")
    for name in (alices[0]["DisplayName"], bobs[0]["DisplayName"], "Alice Anderson", "Bob Brooks"):
        expect(kept).to_contain_text(name)

    # Mark as intended: gone, and still gone after a reload.
    kept.get_by_role("button", name="Mark as intended").click()
    expect(page.locator(".messagelist")).to_contain_text("Marked as intended")
    expect(group(page, "kept.by.both@shared.example")).to_have_count(0)
    page.reload()
    expect(group(page, "kept.by.both@shared.example")).to_have_count(0)

    # Transfer bob's contact to alice: the job's page follows it to the end; flexmls shows alice as the owner.
    moving = group(page, "moves.to.alice@shared.example")
    moving.locator("tr.shared-contact", has_text=bobs[1]["DisplayName"]).get_by_role(
        "button", name="Transfer to Alice Anderson").click()
    expect(page.locator(".messagelist")).to_contain_text(f"Transferring {bobs[1]['DisplayName']} to Alice Anderson")
    page.get_by_role("link", name="follow the transfer").click()
    expect(page.locator("#job-summary")).to_contain_text("finished", timeout=120_000)
    expect(page.locator("#content")).to_contain_text(bobs[1]["DisplayName"])
    assert sim.control("GET", f"/_sim/contacts/{bobs[1]['Id']}").json()["OwnerId"] == sim.account("alice")["user_id"]

    # Back on the page, once alice's sync has the contact, the group is gone (both are alice's now).
    page.goto(demo_world.url + "/admin/contacts_app/contact/shared/")
    deadline_ms = 60_000
    page.set_default_timeout(TIMEOUT)
    for _ in range(deadline_ms // 1000):
        if not group(page, "moves.to.alice@shared.example").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(group(page, "moves.to.alice@shared.example")).to_have_count(0)
