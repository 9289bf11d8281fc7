"""Contract-suite fixtures: one real sparksim process per session, reset before every test that uses it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.sim import Sim, start_sim
from tests.sparksim.client import SparkClient


@pytest.fixture(scope="session")
def sim_process() -> Iterator[Sim]:
    sim = start_sim(seed=42, contacts_per_agent=60)
    yield sim
    sim.stop()


@pytest.fixture
def sim(sim_process: Sim) -> Sim:
    """The shared simulator, back in its seeded state with no faults."""
    sim_process.reset()
    return sim_process


@pytest.fixture
def accounts(sim: Sim) -> dict[str, dict]:
    return {a["login"]: a for a in sim.accounts()}


@pytest.fixture
def client(sim: Sim, accounts: dict[str, dict]) -> Callable[..., SparkClient]:
    def make(login: str, api_user: str | None = None, **kw) -> SparkClient:
        return SparkClient(sim.url, accounts[login], api_user=api_user, **kw)
    return make


@pytest.fixture
def alice(client) -> SparkClient:
    return client("alice")
