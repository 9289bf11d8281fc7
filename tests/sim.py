"""Start and drive a real sparksim process for tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sim:
    """A running sparksim process: its base URL and its control API."""

    url: str
    process: subprocess.Popen
    http: requests.Session = field(default_factory=requests.Session)

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        resp = self.http.request(method, self.url + path, timeout=30, **kwargs)
        resp.raise_for_status()
        return resp

    def accounts(self) -> list[dict]:
        return self.control("GET", "/_sim/accounts").json()["accounts"]

    def account(self, name: str) -> dict:
        return next(a for a in self.accounts() if a["name"] == name or a["login"] == name)

    def reset(self) -> None:
        self.control("POST", "/_sim/reset")

    def faults(self, **faults) -> None:
        self.control("POST", "/_sim/faults", json=faults)

    def clear_faults(self) -> None:
        self.control("DELETE", "/_sim/faults")

    def expire_tokens(self) -> None:
        self.control("POST", "/_sim/expire-tokens")

    def requests_since(self, seq: int = 0) -> list[dict]:
        return self.control("GET", f"/_sim/requests?since={seq}").json()["requests"]

    def last_seq(self) -> int:
        log = self.requests_since(0)
        return log[-1]["seq"] if log else 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_sim(*, seed: int = 42, contacts_per_agent: int = 60, extra_args: tuple[str, ...] = ()) -> Sim:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sparksim", "--port", str(port), "--seed", str(seed),
         "--contacts-per-agent", str(contacts_per_agent), *extra_args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sparksim exited with {proc.returncode} before it was ready")
        try:
            if requests.get(url + "/_sim/health", timeout=1).ok:
                return Sim(url=url, process=proc)
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("sparksim did not become healthy within 90 s")
