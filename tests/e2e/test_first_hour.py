"""An agent's first hour from the state `make run` leaves, driven only through the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import no_sideways_scroll

pytestmark = [pytest.mark.e2e, pytest.mark.worker]


def test_first_sync_arrives_without_a_reload(demo_world, page, phone, screenshot):
    demo_world.login(page, "alice")
    expect(page.locator(".total")).to_have_text(re.compile(r"^[1-9]\d+ contacts"), timeout=30_000)
    expect(page.locator("tr.contact-row")).to_have_count(50)
    screenshot("first-hour-list")
    demo_world.login(phone, "bob")
    expect(phone.locator(".total")).to_have_text(re.compile(r"^[1-9]\d+ contacts"), timeout=30_000)
    screenshot("first-hour-list-phone", phone)
    assert no_sideways_scroll(phone) <= 390
