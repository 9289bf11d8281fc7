"""Shared fixtures: a real sparksim process, a real Celery worker, named agents, a browser.

Everything here is real: sparksim over HTTP, PostgreSQL (pytest-django's test database), Redis, and
Celery workers in their own processes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import traceback
import uuid

import pytest

from tests.sim import ROOT, start_sim

# Playwright's sync API runs an event loop in the test thread; Django's ORM guard would refuse it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# This run's own queue: a worker of `make run` on the same Redis never takes the tests' tasks.
TEST_QUEUE = f"crm-test-{uuid.uuid4().hex[:8]}"
os.environ["CELERY_QUEUE"] = TEST_QUEUE


@pytest.fixture(scope="session", autouse=True)
def _test_queue():
    from crm.celery import app

    app.conf.task_default_queue = TEST_QUEUE


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database of this run's own, so two runs on one machine (CI and a developer) never collide."""
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_crm_{TEST_QUEUE.rsplit('-', 1)[-1]}"


@pytest.fixture(scope="session", autouse=True)
def _own_cache_prefix():
    from django.core.cache import cache

    cache.key_prefix = TEST_QUEUE


@pytest.fixture(scope="session")
def sim():
    """One sparksim process for the session; the app's Spark settings point at it while it runs."""
    from django.conf import settings

    sim = start_sim(seed=42, contacts_per_agent=60)
    old = settings.SPARK_API_BASE, settings.SPARK_OAUTH_AUTHORIZE_URL
    settings.SPARK_API_BASE, settings.SPARK_OAUTH_AUTHORIZE_URL = sim.url, sim.url + "/oauth2"
    yield sim
    settings.SPARK_API_BASE, settings.SPARK_OAUTH_AUTHORIZE_URL = old
    sim.stop()


@pytest.fixture
def fresh_sim(sim):
    """The session's sparksim back in its seeded state, with our shared rate-limit counters cleared too."""
    sim.reset()
    _forget_rate_limits()
    yield sim
    sim.clear_faults()


def _forget_rate_limits():
    if "django" not in sys.modules:
        return
    from crm.spark import redis_client

    client = redis_client()
    from crm.spark import _upstream_prefix

    for key in client.scan_iter(f"spark:ratelimit:{_upstream_prefix()}:*"):
        client.delete(key)


def _link(sim, login: str):
    from crm.agents.linking import spark_account_link

    acct = sim.account(login)
    return spark_account_link(
        username=acct["login"], password="pw-" + acct["login"], spark_user_id=acct["user_id"], name=acct["name"],
        email=acct.get("email", ""), office_id=acct.get("office_id", ""), office_name=acct.get("office_name", ""),
        mls_admin=bool(acct.get("mls_admin")), api_key=acct["api_key"], api_secret=acct["api_secret"],
    )


@pytest.fixture
def link_agent(sim, db):
    """link_agent("alice") -> the SparkAccount of a Django user linked to that sparksim demo agent.
    The user's password is "pw-<login>"."""
    return lambda login: _link(sim, login)


class Worker:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen | None = None
        self.lines: list[str] = []

    def start(self, timeout: float = 60) -> Worker:
        ready = threading.Event()
        # The run's queue and its background queue (the activity refresher's ticks, crm/celery.py): one test worker
        # does both, as the Procfile's worker and background worker do.
        queue = self.env.get("CELERY_QUEUE", TEST_QUEUE)
        self.process = subprocess.Popen(  # its own process group, so kill() takes the pool children too
            [sys.executable, "-m", "celery", "-A", "crm", "worker", "--loglevel", "INFO", "--concurrency", "2",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{uuid.uuid4().hex[:6]}@%h",
             "-Q", f"{queue},{queue}-background"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )

        def pump(stream):
            for line in stream:
                self.lines.append(line)
                if " ready." in line:
                    ready.set()

        threading.Thread(target=pump, args=(self.process.stdout,), daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError("Celery worker did not become ready:\n" + "".join(self.lines[-40:]))
        return self

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, unacknowledged tasks go back to the queue."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="session")
def worker_env(sim, django_db_setup, django_db_blocker):
    from django.conf import settings

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SPARK_API_BASE": sim.url,
        "PYTHONUNBUFFERED": "1",
        "CELERY_QUEUE": TEST_QUEUE,
        # Short claims and backoffs so recovery is seen within a test's time.
        "OUTBOX_CLAIM_S": "6",
        "OUTBOX_BACKOFF_BASE_S": "0.5",
        "OUTBOX_BACKOFF_CAP_S": "3",
        # The fault storm outlasts many short backoffs; the attempt limit is tested on its own.
        "OUTBOX_MAX_ATTEMPTS": "50",
    }


@pytest.fixture
def start_worker(worker_env):
    """start_worker() -> a new real Celery worker process (on real Redis, using the test database).
    Every worker started is stopped at the end of the test."""
    started: list[Worker] = []

    def start(**env) -> Worker:
        worker = Worker({**worker_env, **env}).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker_proc(start_worker):
    return start_worker()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        pytest.fail(f"Debian's chromium is needed for browser tests (not found at {executable}); run `make test`.")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# -- no traceback anywhere in the app's log ---------------------------------------------------------------
# No test may leave a traceback behind in the web process's log (Django's request log, the app's own loggers); the
# fault suite also scans the Celery workers' output. A test whose tracebacks are the point says so with
# @pytest.mark.allows_tracebacks("why").

TRACEBACK_LOGGERS = ("django", "celery", "crm", "contacts_app", "newsfeeds_app", "sharing_app")
# Django refusing a hostile request (too large a body, a disallowed host) logs it with exc_info at ERROR, by design:
# the answer is a 400, not a failure of ours.
BY_DESIGN = ("django.security.",)


class TracebackCollector(logging.Handler):
    """Every ERROR record that carries an exception, with the test it happened in."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.test = "(outside any test)"
        self.allowed = False
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.exc_info or self.allowed or record.name.startswith(BY_DESIGN):
            return
        tb = "".join(traceback.format_exception(*record.exc_info))
        self.seen.append(f"{self.test}: {record.name}: {record.getMessage()[:300]}\n{tb[-3000:]}")


@pytest.fixture(scope="session", autouse=True)
def log_tracebacks():
    """Fails the suite at its end if any traceback reached the log outside the test that caused it."""
    collector = TracebackCollector()
    loggers = [logging.getLogger(name) for name in TRACEBACK_LOGGERS]
    for logger in loggers:
        logger.addHandler(collector)
    yield collector
    for logger in loggers:
        logger.removeHandler(collector)
    if collector.seen:
        pytest.fail(f"{len(collector.seen)} traceback(s) in the app's log:\n\n" + "\n\n".join(collector.seen[:10]),
                    pytrace=False)


@pytest.fixture(autouse=True)
def no_tracebacks_in_this_test(request, log_tracebacks):
    """The same check per test, so the failure names the test that caused it."""
    marker = request.node.get_closest_marker("allows_tracebacks")
    log_tracebacks.test, log_tracebacks.allowed = request.node.nodeid, marker is not None
    before = len(log_tracebacks.seen)
    yield
    found = log_tracebacks.seen[before:]
    del log_tracebacks.seen[before:]  # reported here, once
    log_tracebacks.test, log_tracebacks.allowed = "(between tests)", False
    if found:
        pytest.fail(f"{len(found)} traceback(s) in the app's log:\n\n" + "\n\n".join(found[:5]), pytrace=False)
