"""The shared Redis rate limiter: unit behaviour on real Redis, then 8 concurrent clients against sparksim."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from crm.spark.auth import RedisTokenStore
from crm.spark.errors import SparkRateLimited
from tests.spark.helpers import limiter, make_client, redis_conn


def test_grants_up_to_the_limit_then_says_how_long_to_wait():
    rl = limiter(3, 2.0)
    assert [rl.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = rl.try_acquire()
    assert 1.5 < wait <= 2.0
    assert rl.in_window() == 3
    rl.reset()


def test_acquire_sleeps_until_a_slot_frees():
    rl = limiter(2, 0.5)
    started = time.monotonic()
    for _ in range(4):
        rl.acquire()
    assert time.monotonic() - started >= 0.5
    rl.reset()


def test_settle_restamps_the_slot_at_completion():
    rl = limiter(1, 0.4)
    rl.acquire("slot-1")
    time.sleep(0.3)
    rl.settle("slot-1")  # answered now: the window runs from here, not from the grant
    time.sleep(0.2)
    assert rl.try_acquire() > 0.1
    rl.reset()


def test_block_holds_every_process_and_never_shortens():
    name = f"test-{uuid.uuid4().hex}"
    a, b = limiter(100, 10, name=name), limiter(100, 10, name=name)  # two processes, one key
    a.block(0.6)
    a.block(0.1)  # a shorter block does not cut the longer one
    assert b.try_acquire() > 0.4
    assert 0.4 < b.blocked_for() <= 0.6
    time.sleep(0.65)
    assert b.try_acquire() == 0.0
    a.reset()


def test_rate_limit_timeout_becomes_spark_rate_limited(fresh_sim):
    rl = limiter(2, 60)
    rl.max_wait_s = 0.1
    client = make_client(fresh_sim, rate_limiter=rl)
    client.request("GET", "/contacts", params={"_limit": 1})  # the session open and this take both slots
    with pytest.raises(SparkRateLimited) as info:
        client.request("GET", "/contacts", params={"_limit": 1})
    assert info.value.status is None  # our own limiter, not Spark, said no
    rl.reset()


REQUESTS, WINDOW_S = 20, 2.0
THREADS, PER_THREAD = 8, 8


def _hammer(sim, rate_limiter, per_thread: int) -> tuple[int, int, list[BaseException]]:
    """8 clients (threads) on one key, sharing the session through Redis like separate processes would."""
    store = RedisTokenStore(redis_conn(), prefix=f"spark:test:{uuid.uuid4().hex}:")
    barrier = threading.Barrier(THREADS)
    ok, limited, errors = [0], [0], []
    lock = threading.Lock()

    def run():
        client = make_client(sim, store=store, rate_limiter=rate_limiter, max_retries=0)
        barrier.wait()
        for _ in range(per_thread):
            try:
                client.request("GET", "/contacts", params={"_limit": 1})
                with lock:
                    ok[0] += 1
            except SparkRateLimited:
                with lock:
                    limited[0] += 1
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return ok[0], limited[0], errors


def test_eight_concurrent_clients_stay_under_the_limit_with_the_shared_limiter(fresh_sim):
    fresh_sim.faults(rate_limit={"requests": REQUESTS, "window_s": WINDOW_S})
    rl = limiter(REQUESTS, WINDOW_S)
    seq = fresh_sim.last_seq()
    started = time.monotonic()
    ok, limited, errors = _hammer(fresh_sim, rl, PER_THREAD)
    elapsed = time.monotonic() - started
    log = [r for r in fresh_sim.requests_since(seq) if r["path"] == "/v1/contacts"]
    assert not errors and limited == 0
    assert ok == THREADS * PER_THREAD == len(log)
    assert [r for r in log if r["status"] == 429] == []
    # and it was not slower than it had to be: 64 requests + 1 session at 20 per 2 s need just over 3 windows
    assert elapsed < 4 * WINDOW_S + 2
    rl.reset()


def test_without_the_limiter_the_sim_answers_429(fresh_sim):
    fresh_sim.faults(rate_limit={"requests": REQUESTS, "window_s": WINDOW_S})
    seq = fresh_sim.last_seq()
    ok, limited, errors = _hammer(fresh_sim, None, 5)
    log = [r for r in fresh_sim.requests_since(seq) if r["path"] == "/v1/contacts"]
    assert not errors
    assert limited > 0 and ok <= REQUESTS
    assert sum(1 for r in log if r["status"] == 429 and r["code"] == 1550) == limited
