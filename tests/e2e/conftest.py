"""Browser-test world: the state `make run` leaves, then only the page.

`demo_world` builds the world exactly as `make run` does — sparksim with its demo data, `manage.py demo_setup`
(the demo agents and the broker, their first sync queued), a real Celery worker and a real Celery beat — and then
hands over to the browser. Nothing here calls a service, a sync or a refresh to prepare what a user would need:
anything a test needs must be reachable by clicking, and anything that takes time is awaited as a user would see it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sim import ROOT

ARTIFACTS = Path(__file__).parent / "artifacts"
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - the published demo password of `make run`
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def screenshot(page):
    """screenshot("name") saves the page for review under tests/e2e/artifacts/ (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return lambda name, target=None: (target or page).screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page, live_server, username: str, password: str | None = None) -> None:
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password or f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url("**/contacts/**")


def no_sideways_scroll(page) -> int:
    """The page's scroll width (what a phone user would have to scroll sideways past the viewport)."""
    return page.evaluate("document.documentElement.scrollWidth")


class Beat:
    """A real `celery beat` process with the schedule of settings.CELERY_BEAT_SCHEDULE (intervals from env)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen | None = None
        self.lines: list[str] = []
        self.dir = tempfile.mkdtemp(prefix="crm-beat-")

    def start(self) -> Beat:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "crm", "beat", "--loglevel", "INFO",
             "--schedule", os.path.join(self.dir, "schedule")],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# Beat and worker intervals short enough that what beat does is seen within a test.
WORLD_ENV = {"SYNC_INTERVAL_S": "5", "OUTBOX_SWEEP_S": "1", "OUTBOX_SWEEP_GRACE_S": "1", "UNDO_WINDOW_S": "3"}


@dataclass
class World:
    url: str
    sim: object
    worker: object
    beat: Beat
    password: str = DEMO_PASSWORD

    def login(self, page, username: str = "alice") -> None:
        login(page, type("LS", (), {"url": self.url})(), username, self.password)


@pytest.fixture
def demo_world(fresh_sim, live_server, start_worker, worker_env, settings, transactional_db):
    """The world `make run` leaves: demo agents (password demo-pass-2026) with their first sync queued, a worker
    and beat running. Returns a World; log in with world.login(page, "alice")."""
    import importlib

    from django.apps import apps as django_apps
    from django.core.management import call_command

    # A transactional test flushes the database, and with it the migrations' data (the Broker group): put it back
    # as `migrate` left it on the fresh install.
    importlib.import_module("contacts_app.migrations.0004_broker_group").broker_group_create(django_apps)
    settings.UNDO_WINDOW_S = int(WORLD_ENV["UNDO_WINDOW_S"])
    worker = start_worker(**WORLD_ENV)
    beat = Beat({**worker_env, **WORLD_ENV, "CELERY_BEAT_NAME": uuid.uuid4().hex}).start()
    call_command("demo_setup", sim_url=fresh_sim.url, password=DEMO_PASSWORD, stdout=open(os.devnull, "w"))  # noqa: SIM115
    try:
        yield World(url=live_server.url, sim=fresh_sim, worker=worker, beat=beat)
    finally:
        beat.stop()


@pytest.fixture
def phone(browser):
    """A second browser page at 390 px wide (a phone), sharing nothing with `page`."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def search(page, text: str) -> None:
    """Type into the list's search box as an agent does, and wait until the list shows that search (the address
    follows the results), so the next step acts on the searched list, not on the one before it."""
    from urllib.parse import parse_qs, urlparse

    page.fill("#q", text)
    page.wait_for_url(lambda url: parse_qs(urlparse(url).query).get("q", [""])[0] == text)
