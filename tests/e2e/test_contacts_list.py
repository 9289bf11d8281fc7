"""An agent logs in, sees their own contacts from the store, searches; another agent's never show."""

from __future__ import annotations

import pytest

from contacts_app.models import Contact
from contacts_app.sync import contacts_sync

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, live_server, username, password):
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/contacts/**")


def test_agent_sees_searches_and_only_their_own_contacts(fresh_sim, link_agent, live_server, page):
    alice, bob = link_agent("alice"), link_agent("bob")
    contacts_sync(account=alice, full=True)
    contacts_sync(account=bob, full=True)
    total = Contact.objects.filter(owner=alice).count()
    bobs = Contact.objects.filter(owner=bob).order_by("display_name").first()

    login(page, live_server, "alice", "pw-alice")

    assert page.locator(".total").inner_text() == f"{total} contacts"
    assert page.locator("tr.contact-row").count() == min(total, 50)
    assert bobs.display_name not in page.content()

    target = Contact.objects.filter(owner=alice).order_by("-display_name").first()
    last_name = target.display_name.split()[-1]
    page.fill("#q", last_name)
    page.wait_for_function("() => new URL(location.href).searchParams.get('q') !== null")
    page.wait_for_selector(f"tr.contact-row:has-text('{target.display_name}')")
    rows = page.locator("tr.contact-row").all_inner_texts()
    assert rows and all(last_name.lower() in row.lower() for row in rows)
    expected = Contact.objects.filter(owner=alice, search_text__contains=last_name.lower()).count()
    assert page.locator("tr.contact-row").count() == expected
    assert f"q={last_name}" in page.url  # the URL holds the search: back button and shared links work

    page.fill("#q", bobs.primary_email)
    page.wait_for_selector(".empty")
    assert "No contacts match" in page.locator(".empty").inner_text()

    page.goto(live_server.url + "/contacts/?q=" + bobs.display_name.split()[0])
    assert bobs.primary_email not in page.content()
