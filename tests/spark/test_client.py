"""SparkClient against a real sparksim process over HTTP."""

from __future__ import annotations

import logging
import socket

import pytest

from crm.spark import ApiKeyAuth, SparkClient, iter_records
from crm.spark.auth import MemoryTokenStore
from crm.spark.errors import (
    SparkAuthError,
    SparkConnectionError,
    SparkNotFound,
    SparkServerError,
    SparkTimeout,
)
from tests.sim import free_port


def make_client(sim, login="alice", **kw) -> SparkClient:
    acct = sim.account(login)
    auth = ApiKeyAuth(acct["api_key"], kw.pop("secret", acct["api_secret"]), store=MemoryTokenStore())
    kw.setdefault("max_retries", 0)
    kw.setdefault("sleep", lambda s: None)
    return SparkClient(base_url=kw.pop("base_url", sim.url), auth=auth, user_agent="FlexCRM-tests/1.0", **kw)


def test_pages_through_every_contact_of_the_agent(fresh_sim):
    client = make_client(fresh_sim)
    records = list(iter_records(client, "/contacts"))
    owner = fresh_sim.account("alice")["user_id"]
    expected = [c for c in fresh_sim.control("GET", f"/_sim/contacts?owner={owner}").json()["contacts"]
                if c.get("RecordStatus", "Connected") != "Unconnected"]
    assert len(records) == len(expected) > 25  # more than one page
    assert {r["Id"] for r in records} == {c["Id"] for c in expected}
    assert all(r["ResourceUri"].startswith("/v1/contacts/") for r in records)


def test_one_session_for_many_requests(fresh_sim):
    client = make_client(fresh_sim)
    seq = fresh_sim.last_seq()
    client.request("GET", "/contacts", params={"_limit": 1})
    client.request("GET", "/contacts", params={"_limit": 2})
    paths = [r["path"] for r in fresh_sim.requests_since(seq)]
    assert paths.count("/v1/session") == 1


def test_wrong_secret_is_a_clear_auth_error(fresh_sim):
    client = make_client(fresh_sim, secret="not-the-secret")
    with pytest.raises(SparkAuthError) as info:
        client.request("GET", "/contacts")
    assert info.value.status == 401 and info.value.code == 1000
    assert not info.value.retryable


def test_unknown_contact_is_not_found(fresh_sim):
    client = make_client(fresh_sim)
    with pytest.raises(SparkNotFound) as info:
        client.request("GET", "/contacts/20000101000000000000999999")
    assert info.value.status == 404


def test_expired_session_reauthenticates_once_and_retries(fresh_sim):
    client = make_client(fresh_sim)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.expire_tokens()
    seq = fresh_sim.last_seq()
    resp = client.request("GET", "/contacts", params={"_limit": 1})
    assert len(resp.results) == 1
    log = fresh_sim.requests_since(seq)
    assert [(r["path"], r["status"]) for r in log] == [
        ("/v1/contacts", 401), ("/v1/session", 200), ("/v1/contacts", 200)
    ]


def test_read_timeout_raises_spark_timeout(fresh_sim):
    fresh_sim.faults(latency_ms=1500)
    client = make_client(fresh_sim, read_timeout=0.5)
    with pytest.raises(SparkTimeout) as info:
        client.request("GET", "/contacts", params={"_limit": 1})
    assert info.value.retryable


def test_server_errors_are_retried_for_reads_then_raised(fresh_sim):
    client = make_client(fresh_sim, max_retries=2)
    client.request("GET", "/contacts", params={"_limit": 1})  # open the session first
    fresh_sim.faults(error_rate=1.0, error_status=503, error_code=1510)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkServerError) as info:
        client.request("GET", "/contacts", params={"_limit": 1})
    assert info.value.code == 1510
    assert len([r for r in fresh_sim.requests_since(seq) if r["path"] == "/v1/contacts"]) == 3


def test_refused_connection_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        auth = ApiKeyAuth("k", "s", store=MemoryTokenStore())
        client = SparkClient(base_url=f"http://127.0.0.1:{port}", auth=auth, user_agent="t", max_retries=0)
        with pytest.raises(SparkConnectionError):
            client.request("GET", "/contacts")


def test_logs_carry_no_secret_or_token(fresh_sim, caplog):
    acct = fresh_sim.account("alice")
    client = make_client(fresh_sim)
    with caplog.at_level(logging.DEBUG, logger="crm"):
        client.request("GET", "/contacts", params={"_limit": 1})
    text = caplog.text
    assert "spark GET /v1/contacts status=200" in text
    assert acct["api_secret"] not in text
    assert "AuthToken" not in text and "ApiSig" not in text
    assert acct["api_secret"] not in repr(client)


def test_free_port_helper_gives_unused_port():
    assert 1024 < free_port() < 65536
