"""The fault and abuse suite: `make test` runs the short version; `FAULTS_LONG=1` (or `make test-faults-long`)
runs the long one (1,000 writes, a 60 s outage, more generated inputs)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
import traceback

import pytest
import redis

from tests.sim import free_port

LONG = os.environ.get("FAULTS_LONG", "").lower() in ("1", "true", "yes")


class PrivateRedis:
    """A redis-server of this test only, on a spare port, so restarting it touches nobody else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self) -> None:
        """Stopped and started again without persistence: every queued Celery message is lost."""
        self.stop()
        self.start()


@pytest.fixture
def private_redis():
    """A private Redis (None when redis-server is not installed: the test then runs on the machine's Redis and
    does not restart it)."""
    if shutil.which("redis-server") is None:
        yield None
        return
    server = PrivateRedis().start()
    yield server
    server.stop()


# -- no traceback anywhere in the app's log ---------------------------------------------------------------
# Every test here may feed the app hostile input or a hostile upstream; none may leave a traceback behind: in the
# web process (Django's request log, the app's own loggers) or in a Celery worker's output. A test whose tracebacks
# are the point (none yet) says so with @pytest.mark.allows_tracebacks("why").

TRACEBACK_LOGGERS = ("django", "celery", "crm", "contacts_app", "newsfeeds_app", "sharing_app")
# Django refusing a hostile request (too large a body, a disallowed host) logs it with exc_info at ERROR, by design:
# the answer is a 400, not a failure of ours.
BY_DESIGN = ("django.security.",)
# What a worker prints when the test itself restarts the broker under it (the `private_redis` fixture).
BROKER_LOST = re.compile(r"Connection to broker lost|Cannot connect to redis|redis\.exceptions\.ConnectionError|"
                         r"ConnectionRefusedError|ConnectionResetError|kombu\.exceptions\.OperationalError")


def pytest_configure(config):
    config.addinivalue_line("markers", "allows_tracebacks(reason): tracebacks in the log are expected in this test")


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


def traceback_blocks(lines: list[str]) -> list[str]:
    """Each traceback in a process's output, with the log line before it and the exception line that ends it."""
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].startswith("Traceback (most recent call last)"):
            start, i = max(i - 1, 0), i + 1
            while i < len(lines) and (lines[i].startswith((" ", "\t")) or not lines[i].strip()):
                i += 1
            blocks.append("".join(lines[start:i + 1]))
        i += 1
    return blocks


@pytest.fixture
def start_worker(start_worker, request):
    """The shared fixture, plus: a traceback in any worker's output fails the test (the workers are stopped first, so
    a crash on the way out counts too)."""
    started = []

    def start(**env):
        worker = start_worker(**env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    restarts_broker = "private_redis" in request.fixturenames
    found = [block for worker in started for block in traceback_blocks(list(worker.lines))
             if not (restarts_broker and BROKER_LOST.search(block))]
    if found and request.node.get_closest_marker("allows_tracebacks") is None:
        pytest.fail(f"{len(found)} traceback(s) in the Celery workers' output:\n\n" + "\n\n".join(found[:5]),
                    pytrace=False)
