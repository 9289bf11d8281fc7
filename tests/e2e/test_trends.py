"""From the state `make run` leaves, within the demo's first minutes every contact on the agent's list shows its
7-day trend: the activity refresher (on its own background queue and worker, ticked by beat) reads the whole book.

Only the page is driven: the agent logs in and looks at the list again from time to time, as a user would."""

from __future__ import annotations

import math
import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.worker]

WAIT = 30_000
FIRST_MINUTES_S = 240  # "within the demo's first minutes" (beat's default tick: 10 s, 20 % of each key's budget)


def _unknown_on_each_page(page, url: str, pages: int) -> list[int]:
    """The rows still saying "no data yet", page by page of the list (looked at as the agent would)."""
    unknown = []
    for n in range(1, pages + 1):
        page.goto(f"{url}/contacts/?page={n}")
        expect(page.locator("tr.contact-row").first).to_be_visible(timeout=WAIT)
        unknown.append(page.locator("tr.contact-row .trend.unknown").count())
    return unknown


def test_every_demo_contact_on_the_list_shows_a_trend_within_the_first_minutes(demo_world, page):
    demo_world.login(page, "alice")
    expect(page.locator(".meta")).to_contain_text("as of", timeout=WAIT)  # the first sync has settled
    expect(page.locator(".total")).to_have_text(re.compile(r"^\d+ contacts$"), timeout=WAIT)
    total = int(page.locator(".total").inner_text().split()[0])
    assert total > 0
    pages = math.ceil(total / 50)

    started = time.monotonic()
    unknown = _unknown_on_each_page(page, demo_world.url, pages)
    while sum(unknown) and time.monotonic() - started < FIRST_MINUTES_S:
        time.sleep(5)
        unknown = _unknown_on_each_page(page, demo_world.url, pages)
    assert sum(unknown) == 0, f"after {time.monotonic() - started:.0f} s, rows without a trend per page: {unknown}"

    # Every row shows a trend (an arrow and how old it is), and the page's count did not change meanwhile.
    expect(page.locator(".total")).to_have_text(f"{total} contacts")
    shown = 0
    for n in range(1, pages + 1):
        page.goto(f"{demo_world.url}/contacts/?page={n}")
        rows = page.locator("tr.contact-row")
        shown += rows.count()
        assert rows.count() == page.locator("tr.contact-row .trend:not(.unknown)").count()
        expect(page.locator("tr.contact-row .trend-age").first).to_contain_text("read")
    assert shown == total
