"""Injected faults, the per-key rate limit and the request log (the `/_sim` control API drives all three)."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

DEFAULT_RATE = (1500, 300.0)  # requests per window (seconds) per key: the published IDX limit
HANG_SECONDS = 60.0


@dataclass
class FaultConfig:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    error_code: int | None = None
    outage_until: float = 0.0
    hang_rate: float = 0.0
    rate_requests: int = DEFAULT_RATE[0]
    rate_window_s: float = DEFAULT_RATE[1]

    def public(self) -> dict[str, Any]:
        return {"latency_ms": self.latency_ms, "jitter_ms": self.jitter_ms, "error_rate": self.error_rate,
                "error_status": self.error_status, "error_code": self.error_code,
                "outage_remaining_s": max(0.0, round(self.outage_until - time.time(), 3)),
                "hang_rate": self.hang_rate,
                "rate_limit": {"requests": self.rate_requests, "window_s": self.rate_window_s}}


class FaultError(ValueError):
    pass


def _number(raw: dict, name: str, lo: float, hi: float) -> float:
    v = raw[name]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise FaultError(f"{name} must be a number between {lo} and {hi}")
    return float(v)


class Faults:
    def __init__(self, seed: int) -> None:
        self._seed = seed
        self.lock = threading.Lock()
        self.config = FaultConfig()
        self.rng = random.Random(seed)
        self.wake = threading.Event()  # set to release hanging requests when faults are cleared

    def update(self, raw: dict[str, Any]) -> None:
        known = {"latency_ms", "jitter_ms", "error_rate", "error_status", "error_code", "outage_s", "hang_rate",
                 "rate_limit"}
        unknown = set(raw) - known
        if unknown:
            raise FaultError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        with self.lock:
            c = self.config
            if "latency_ms" in raw:
                c.latency_ms = _number(raw, "latency_ms", 0, 600_000)
            if "jitter_ms" in raw:
                c.jitter_ms = _number(raw, "jitter_ms", 0, 600_000)
            if "error_rate" in raw:
                c.error_rate = _number(raw, "error_rate", 0, 1)
            if "error_status" in raw:
                c.error_status = int(_number(raw, "error_status", 400, 599))
                c.error_code = None  # back to the status's usual code unless error_code comes along
            if "error_code" in raw:
                c.error_code = None if raw["error_code"] is None else int(_number(raw, "error_code", 0, 99999))
            if "outage_s" in raw:
                c.outage_until = time.time() + _number(raw, "outage_s", 0, 86_400)
            if "hang_rate" in raw:
                c.hang_rate = _number(raw, "hang_rate", 0, 1)
            if "rate_limit" in raw:
                rl = raw["rate_limit"]
                if rl is None:
                    c.rate_requests, c.rate_window_s = DEFAULT_RATE
                elif not isinstance(rl, dict):
                    raise FaultError("rate_limit must be {\"requests\": N, \"window_s\": S}")
                else:
                    if "requests" in rl:
                        c.rate_requests = int(_number(rl, "requests", 1, 10**9))
                    if "window_s" in rl:
                        c.rate_window_s = _number(rl, "window_s", 0.001, 86_400)
            self.wake.clear()

    def clear(self) -> None:
        with self.lock:
            self.config = FaultConfig()
            self.rng = random.Random(self._seed)
            self.wake.set()

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self.lock:
            return self.rng.random() < rate

    def delay_s(self) -> float:
        c = self.config
        if not c.latency_ms and not c.jitter_ms:
            return 0.0
        with self.lock:
            jitter = self.rng.uniform(0, c.jitter_ms) if c.jitter_ms else 0.0
        return (c.latency_ms + jitter) / 1000.0


class RateLimiter:
    """Sliding window per key. Returns the seconds to wait (Retry-After) when the key is over its limit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[str, deque[float]] = {}

    def check(self, key: str, limit: int, window: float) -> int | None:
        now = time.monotonic()
        with self.lock:
            q = self.hits.setdefault(key, deque())
            while q and q[0] <= now - window:
                q.popleft()
            if len(q) >= limit:
                return max(1, math.ceil(q[0] + window - now))
            q.append(now)
            return None

    def clear(self) -> None:
        with self.lock:
            self.hits.clear()


@dataclass
class RequestLog:
    capacity: int = 20_000
    entries: deque = field(default_factory=deque)
    seq: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entry: dict[str, Any]) -> int:
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.entries.append(entry)
            while len(self.entries) > self.capacity:
                self.entries.popleft()
            return self.seq

    def since(self, seq: int) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.entries if e["seq"] > seq]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
