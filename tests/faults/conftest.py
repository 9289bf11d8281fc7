"""The fault and abuse suite: `make test` runs the short version; `FAULTS_LONG=1` (or `make test-faults-long`)
runs the long one (1,000 writes, a 60 s outage, more generated inputs)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

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


# -- no traceback in a worker's output (the log itself is scanned for the whole suite: tests/conftest.py) ----
# What a worker prints when the test itself restarts the broker under it (the `private_redis` fixture), including
# kombu failing inside Celery's own lost-connection handler (`on_connection_error_after_connected`: closing the dead
# connection, or acking on it while stopping, kombu 5.x can raise AttributeError in `_connparams` on its
# already-cleared connection info; the worker reconnects or exits cleanly).
BROKER_LOST = re.compile(r"Connection to broker lost|Cannot connect to redis|redis\.exceptions\.ConnectionError|"
                         r"ConnectionRefusedError|ConnectionResetError|kombu\.exceptions\.OperationalError|"
                         r"in on_connection_error_after_connected|"
                         r"kombu/transport/redis\.py\", line \d+, in _connparams")


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
