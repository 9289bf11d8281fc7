"""An agent links their flexmls account through OAuth 2 in the browser; a broken link asks to reconnect and
keeps the agent's changes until it is."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from contacts_app.models import Contact
from crm.agents.models import SparkAccount
from crm.outbox.models import SparkWrite
from tests.conftest import wait_for
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def sign_in_at_flexmls(page, login_name: str, password: str) -> None:
    page.fill("input[name=login], input[name=username]", login_name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")


def test_agent_links_with_oauth_and_gets_their_contacts(fresh_sim, live_server, page, celery_worker_proc):
    get_user_model().objects.create_user("carol.new", password="pw-carol.new")
    login(page, live_server, "carol.new")
    expect(page.locator("h1")).to_have_text("Link your flexmls account")
    page.click("#link-flexmls")
    carol = fresh_sim.account("carol")
    sign_in_at_flexmls(page, carol["login"], carol["password"])
    page.wait_for_url("**/contacts/**")
    expect(page.locator(".flash")).to_contain_text("Linked to flexmls as Carol")
    account = SparkAccount.objects.get(user__username="carol.new")
    assert account.auth_mode == "oauth" and account.spark_user_id == carol["user_id"]
    assert carol["password"] not in page.content()
    expected = len(fresh_sim.control("GET", f"/_sim/contacts?owner={carol['user_id']}").json()["contacts"])
    wait_for(lambda: Contact.objects.filter(owner=account).count() == expected, timeout=30,
             message="carol's contacts synced through OAuth")
    page.reload()
    expect(page.locator(".total")).to_have_text(f"{expected} contacts")


def test_broken_link_keeps_writes_and_reconnect_sends_them(fresh_sim, live_server, page, celery_worker_proc):
    user = get_user_model().objects.create_user("erin.new", password="pw-erin.new")
    login(page, live_server, "erin.new")
    page.click("#link-flexmls")
    erin = fresh_sim.account("erin")
    sign_in_at_flexmls(page, erin["login"], erin["password"])
    page.wait_for_url("**/contacts/**")
    account = SparkAccount.objects.get(user=user)
    wait_for(lambda: Contact.objects.filter(owner=account).exists(), message="erin's contacts")

    # Spark revokes the tokens (as when the agent disconnects the app in flexmls).
    account.refresh_from_db()
    from crm import crypto
    token = crypto.decrypt(account.access_token_encrypted)
    revoked = fresh_sim.http.delete(f"{fresh_sim.url}/v1/oauth2/token/{token}",
                                    headers={"Authorization": f"OAuth {token}", "X-SparkApi-User-Agent": "test"})
    assert revoked.status_code == 200
    contact = Contact.objects.filter(owner=account, record_status="Connected").first()
    # The agent, unaware, tags a contact in the page.
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    page.fill("#tag-input", "Kept While Broken")
    page.click(".tag-add button")
    expect(page.locator("#tags .chip", has_text="Kept While Broken")).to_be_visible()
    write = wait_for(lambda: SparkWrite.objects.filter(contact=contact, kind="tag_add").first(), message="the write")
    wait_for(lambda: SparkAccount.objects.get(pk=account.pk).link_status == "broken", message="the link broken")
    # Waiting, not failed, not lost (another task may find the link broken while the write is still settling).
    wait_for(lambda: SparkWrite.objects.get(pk=write.pk).status == "queued", message="the write waiting for the link")

    page.reload()
    expect(page.locator("#reconnect")).to_be_visible()
    page.click("#reconnect button")
    sign_in_at_flexmls(page, erin["login"], erin["password"])
    page.wait_for_url("**/contacts/**")
    expect(page.locator("#reconnect")).to_have_count(0)
    wait_for(lambda: SparkWrite.objects.get(pk=write.pk).status == "confirmed", timeout=30,
             message="the kept write sent after reconnecting")
    assert "Kept While Broken" in fresh_sim.control("GET", f"/_sim/contacts/{contact.spark_id}").json()["Tags"]
