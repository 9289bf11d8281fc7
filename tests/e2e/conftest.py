from __future__ import annotations

from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture
def screenshot(page):
    """screenshot("name") saves the page for review under tests/e2e/artifacts/ (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return lambda name: page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page, live_server, username: str, password: str | None = None) -> None:
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url("**/contacts/**")
