"""The contact page's history reads as plain language: one row per change, with where it stands with flexmls."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from contacts_app import selectors, services
from contacts_app.models import Contact
from crm.agents.models import SparkAccount
from crm.outbox.models import AuditEvent, SparkWrite
from crm.outbox.worker import _audit

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    user = User.objects.create_user("alice", password="pw-alice", first_name="Alice", last_name="Adams")
    return SparkAccount.objects.create(user=user, spark_user_id="20000000000000000000000001", name="Alice Adams")


@pytest.fixture
def contact(alice):
    return Contact.objects.create(owner=alice, display_name="Pat Jones", primary_email="pat@example.com",
                                  primary_phone="701-555-0100",
                                  attributes={"PrimaryPhoneNumber": "701-555-0100", "PrimaryEmail": "pat@example.com"})


def settle(write: SparkWrite, status: str, message: str = "") -> None:
    SparkWrite.objects.filter(pk=write.pk).update(status=status, spark_message=message)
    write.refresh_from_db()
    _audit(write, {"confirmed": AuditEvent.Outcome.CONFIRMED, "failed": AuditEvent.Outcome.FAILED}[status], message)


def page(alice, contact) -> str:
    client = Client()
    client.force_login(alice.user)
    response = client.get(f"/contacts/{contact.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_one_plain_row_per_change_with_its_current_outcome(alice, contact):
    user = alice.user
    tag = services.contact_tag_add(account=alice, user=user, contact=contact, tag="Hot Lead")
    edit = services.contact_update(account=alice, user=user, contact=contact,
                                   changes={"PrimaryPhoneNumber": "701-555-0199", "Organization": "Acme"})
    untag = services.contact_tag_remove(account=alice, user=user, contact=contact, tag="Hot Lead")
    settle(tag, "confirmed")
    settle(edit, "failed", "The e-mail address belongs to another prospect")

    rows = selectors.contact_history(contact=contact)

    assert [r.lines for r in rows] == [
        ["Removed tag Hot Lead"],
        ["Phone: 701-555-0100 → 701-555-0199", "Organization: set to Acme"],
        ["Added tag Hot Lead"],
    ]
    assert [r.outcome for r in rows] == ["pending", "failed", "confirmed"]
    assert rows[1].outcome_label == "Refused by flexmls"
    assert rows[1].message == "The e-mail address belongs to another prospect"
    assert rows[0].actor_name == "Alice Adams"
    assert untag.status == SparkWrite.Status.QUEUED


def test_the_page_shows_words_not_action_names_or_dicts(alice, contact):
    write = services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag="Open House")
    services.contact_update(account=alice, user=alice.user, contact=contact, changes={"PrimaryPhoneNumber": ""})
    settle(write, "confirmed")

    html = page(alice, contact)
    history = html[html.index('id="history"'):]

    assert "Added tag Open House" in history
    assert "Phone: cleared (was 701-555-0100)" in history
    assert "Confirmed by flexmls" in history and "Waiting for flexmls" in history
    for raw in ("tag_add", "{&#x27;", "{'", "Tags", "PrimaryPhoneNumber"):
        assert raw not in history, raw
    assert history.count("<tr data-outcome=") == 2  # the confirmation is not a row of its own


def test_email_and_phone_are_links_and_a_refused_tag_shows_at_its_chip(alice, contact):
    write = services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag="VIP")
    settle(write, "failed", "This key may not change tags")
    Contact.objects.filter(pk=contact.pk).update(write_state=Contact.WriteState.FAILED)

    html = page(alice, contact)

    assert 'href="mailto:pat@example.com"' in html and 'href="tel:7015550100"' in html
    chips = html[html.index('id="tag-chips"'):html.index('class="tag-add"')]
    assert 'chip-failed' in chips and "flexmls refused adding “VIP”: This key may not change tags" in chips
    assert "Retry" in chips and "Discard" in chips
    assert 'hx-trigger="every 1s"' not in html  # nothing pending: nothing polls


def test_a_pending_change_polls_only_the_live_fragment_which_stops_once_settled(alice, contact):
    write = services.contact_tag_add(account=alice, user=alice.user, contact=contact, tag="VIP")
    client = Client()
    client.force_login(alice.user)

    html = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert f'hx-get="/contacts/{contact.pk}/live/" hx-trigger="every 1s"' in html

    live = client.get(f"/contacts/{contact.pk}/live/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in live and "chip-pending" in live

    settle(write, "confirmed")
    Contact.objects.filter(pk=contact.pk).update(write_state=Contact.WriteState.SYNCED)
    live = client.get(f"/contacts/{contact.pk}/live/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger' not in live and "chip-pending" not in live
    assert 'id="tag-chips" class="chips" hx-swap-oob="true"' in live and "Confirmed by flexmls" in live


def test_sparkline_has_dates_and_scale():
    from contacts_app.templatetags.contacts_extras import sparkline

    daily = [{"date": f"2026-11-{d:02d}", "score": d % 7} for d in range(1, 31)]
    svg = str(sparkline(daily))
    assert "<title>Nov 1: score 1</title>" in svg and "<title>Nov 30: score 2</title>" in svg
    assert "Nov 1" in svg and "Nov 30" in svg and "highest 6" in svg
