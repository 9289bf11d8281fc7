"""An agent logs in, sees their own contacts from the store, searches; another agent's never show.

From the state `make run` leaves (demo_world): the first sync is awaited as the agent sees it, in the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from contacts_app.models import Contact
from tests.e2e.conftest import search

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

WAIT = 30_000


def test_agent_sees_searches_and_only_their_own_contacts(demo_world, page):
    demo_world.login(page, "alice")
    expect(page.locator(".meta")).to_contain_text("as of", timeout=WAIT)  # the first sync has settled
    total = Contact.objects.filter(owner__user__username="alice").count()
    bobs = Contact.objects.filter(owner__user__username="bob").order_by("display_name").first()
    assert total and bobs is not None

    expect(page.locator(".total")).to_have_text(f"{total} contacts", timeout=WAIT)
    expect(page.locator("tr.contact-row")).to_have_count(min(total, 50), timeout=WAIT)
    assert bobs.display_name not in page.content()

    target = Contact.objects.filter(owner__user__username="alice").order_by("-display_name").first()
    last_name = target.display_name.split()[-1]
    search(page, last_name)
    page.wait_for_function("() => new URL(location.href).searchParams.get('q') !== null")
    expect(page.locator("tr.contact-row", has_text=target.display_name)).to_be_visible(timeout=WAIT)
    expected = Contact.objects.filter(owner__user__username="alice", search_text__contains=last_name.lower()).count()
    expect(page.locator("tr.contact-row")).to_have_count(expected)
    rows = page.locator("tr.contact-row").all_inner_texts()
    assert rows and all(last_name.lower() in row.lower() for row in rows)
    assert f"q={last_name}" in page.url  # the URL holds the search: back button and shared links work

    search(page, bobs.primary_email)
    expect(page.locator(".empty")).to_contain_text("No contacts match", timeout=WAIT)

    page.goto(demo_world.url + "/contacts/?q=" + bobs.display_name.split()[0])
    expect(page.locator(".total")).to_have_text(re.compile(r"contacts?$"))
    assert bobs.primary_email not in page.content()
