"""What a user does while waiting, for browser tests that start from `demo_world` and drive only the page."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

LOADED = re.compile(r"^[1-9]\d+ contacts")


def list_loaded(page) -> None:
    """The agent's contacts are there (the first sync runs in the background after `make run`)."""
    expect(page.locator(".total")).to_have_text(LOADED, timeout=30_000)


def revisit_until(page, url: str, selector: str, timeout: float = 30.0):
    """Something happens elsewhere (a worker, beat, another flexmls user): open the page again until it shows."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = page.goto(url)
        except PlaywrightError as exc:
            # The page moved on by itself (a confirmed delete takes the agent back to the list) as we opened it
            # again: open it again, as a user would.
            if "interrupted by another navigation" not in str(exc) or time.monotonic() > deadline:
                raise
            continue
        if page.locator(selector).count():
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector} did not show on {url} within {timeout:.0f} s")
        page.wait_for_timeout(1000)


def content_width(page) -> int:
    """How wide the page's own content is (the top bar's fit at 390 px is the layout's test, test_first_hour)."""
    return page.evaluate("document.querySelector('main').scrollWidth")
