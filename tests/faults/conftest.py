"""The fault and abuse suite: `make test` runs the short version; `FAULTS_LONG=1` (or `make test-faults-long`)
runs the long one (1,000 writes, a 60 s outage, more generated inputs)."""

from __future__ import annotations

import os
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
