"""One test per failure mode in the notes, against a real sparksim over HTTP: the exception class, status, code,
message, and how many requests Spark saw (from the sim's request log)."""

from __future__ import annotations

import socket
import time

import pytest

from crm.spark import ApiKeyAuth, SparkClient
from crm.spark.auth import MemoryTokenStore
from crm.spark.errors import (
    SparkAuthError,
    SparkConflict,
    SparkConnectionError,
    SparkForbidden,
    SparkNotAllowed,
    SparkNotFound,
    SparkRateLimited,
    SparkServerError,
    SparkSessionExpired,
    SparkTimeout,
    SparkValidationError,
)
from crm.spark.resources import contacts
from crm.spark.sparkql import eq
from tests.spark.helpers import limiter, make_client, requests_to

UNKNOWN_CONTACT = "20000101000000000000999999"


def first_contact_id(client) -> str:
    return contacts.contact_list(client, limit=1).items[0].id


def test_401_1000_bad_secret_fails_once_without_retry(fresh_sim):
    client = make_client(fresh_sim, secret="not-the-secret", max_retries=3)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkAuthError) as info:
        client.request("GET", "/contacts")
    err = info.value
    assert type(err) is SparkAuthError
    assert (err.status, err.code) == (401, 1000)
    assert err.message == "Invalid API key and/or request signed improperly"
    assert not err.retryable and err.request_id
    assert [(r["path"], r["status"]) for r in fresh_sim.requests_since(seq)] == [("/v1/session", 401)]


def test_401_1000_on_a_live_token_renews_once_then_gives_up(fresh_sim):
    client = make_client(fresh_sim, max_retries=3)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.faults(error_rate=1.0, error_status=401, error_code=1000)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkAuthError) as info:
        client.request("GET", "/contacts", params={"_limit": 1})
    assert (info.value.status, info.value.code) == (401, 1000)
    # the data call, one attempt to open a new session, nothing more: never a loop
    assert [(r["path"], r["status"]) for r in fresh_sim.requests_since(seq)] == [
        ("/v1/contacts", 401), ("/v1/session", 401)]


def test_1020_reauthenticates_once_then_retries(fresh_sim):
    client = make_client(fresh_sim)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.expire_tokens()
    seq = fresh_sim.last_seq()
    resp = client.request("GET", "/contacts", params={"_limit": 1})
    assert len(resp.results) == 1
    log = fresh_sim.requests_since(seq)
    assert [(r["path"], r["status"], r["code"]) for r in log] == [
        ("/v1/contacts", 401, 1020), ("/v1/session", 200, None), ("/v1/contacts", 200, None)]


def test_1020_on_a_post_reauthenticates_and_applies_once(fresh_sim):
    client = make_client(fresh_sim)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.expire_tokens()
    seq = fresh_sim.last_seq()
    new_id = contacts.contact_create(client, {"DisplayName": "After Expiry", "PrimaryEmail": "after@x.example"})
    assert [(r["path"], r["status"]) for r in fresh_sim.requests_since(seq)] == [
        ("/v1/contacts", 401), ("/v1/session", 200), ("/v1/contacts", 201)]
    assert contacts.contact_get(client, new_id).display_name == "After Expiry"


def test_1020_that_persists_is_raised_after_one_renewal(fresh_sim):
    client = make_client(fresh_sim, max_retries=3)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.faults(error_rate=1.0, error_status=401, error_code=1020)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkSessionExpired) as info:
        client.request("GET", "/contacts", params={"_limit": 1})
    assert (info.value.status, info.value.code) == (401, 1020)
    assert len(fresh_sim.requests_since(seq)) == 2


def test_403_1015_api_user_the_key_may_not_act_for(fresh_sim):
    bob = fresh_sim.account("bob")["user_id"]
    client = make_client(fresh_sim, api_user=bob, max_retries=3)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkForbidden) as info:
        client.request("GET", "/contacts", params={"_limit": 1})
    err = info.value
    assert (err.status, err.code) == (403, 1015) and bob in err.message and not err.retryable
    assert len(requests_to(fresh_sim, seq, "/v1/contacts")) == 1


def test_404_unknown_contact(fresh_sim):
    client = make_client(fresh_sim, max_retries=3)
    client.request("GET", "/contacts", params={"_limit": 1})
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkNotFound) as info:
        contacts.contact_get(client, UNKNOWN_CONTACT)
    assert info.value.status == 404 and info.value.code == 404 and info.value.message
    assert len(fresh_sim.requests_since(seq)) == 1


def test_405_method_not_implemented(fresh_sim):
    client = make_client(fresh_sim, max_retries=3)
    cid = first_contact_id(client)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkNotAllowed) as info:
        client.request("POST", f"/contacts/{cid}", data={"DisplayName": "x"})
    assert (info.value.status, info.value.code) == (405, 405)
    assert "not implemented" in info.value.message
    assert len(fresh_sim.requests_since(seq)) == 1


def test_409_1055_duplicate_email(fresh_sim):
    client = make_client(fresh_sim, max_retries=3)
    existing = next(c for c in contacts.contact_list(client, limit=25).items if c.primary_email)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkConflict) as info:
        contacts.contact_create(client, {"DisplayName": "Dup", "PrimaryEmail": existing.primary_email})
    err = info.value
    assert (err.status, err.code) == (409, 1055) and existing.primary_email.lower() in err.message.lower()
    assert len(requests_to(fresh_sim, seq, "/v1/contacts", "POST")) == 1


def test_400_1053_constraint_with_details(fresh_sim):
    client = make_client(fresh_sim, max_retries=3)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkValidationError) as info:
        contacts.contact_create(client, {"DisplayName": "x" * 76})
    err = info.value
    assert (err.status, err.code) == (400, 1053) and err.message
    assert "DisplayName" in str(err.details) + str(err.errors)
    assert len(requests_to(fresh_sim, seq, "/v1/contacts", "POST")) == 1


def test_400_1040_bad_filter_with_sparkql_errors(fresh_sim):
    client = make_client(fresh_sim, max_retries=3)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkValidationError) as info:
        contacts.contact_list(client, filter=eq("NoSuchField", "x"))
    err = info.value
    assert (err.status, err.code) == (400, 1040)
    assert err.sparkql_errors and "NoSuchField" in err.agent_message
    assert len(requests_to(fresh_sim, seq, "/v1/contacts")) == 1


def test_429_1550_waits_for_retry_after_then_succeeds(fresh_sim):
    slept: list[float] = []
    client = make_client(fresh_sim, max_retries=2, sleep=lambda s: (slept.append(s), time.sleep(s)))
    client.request("GET", "/contacts", params={"_limit": 1})  # session open first
    fresh_sim.faults(rate_limit={"requests": 2, "window_s": 1.5})
    seq = fresh_sim.last_seq()
    for _ in range(3):
        client.request("GET", "/contacts", params={"_limit": 1})
    log = requests_to(fresh_sim, seq, "/v1/contacts")
    assert [r["status"] for r in log] == [200, 200, 429, 200]
    assert log[2]["code"] == 1550
    assert len(slept) == 1 and slept[0] >= 1.0  # the sim's Retry-After is whole seconds, at least 1


def test_429_1550_raised_with_retry_after_and_blocks_the_shared_limiter(fresh_sim):
    rl = limiter(1000, 60)
    client = make_client(fresh_sim, max_retries=0, rate_limiter=rl)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.faults(rate_limit={"requests": 1, "window_s": 30})
    client.request("GET", "/contacts", params={"_limit": 1})  # uses the one slot
    with pytest.raises(SparkRateLimited) as info:
        client.request("GET", "/contacts", params={"_limit": 1})
    err = info.value
    assert (err.status, err.code) == (429, 1550) and err.retryable
    assert err.retry_after is not None and err.retry_after >= 1
    assert "rate limit" in err.message.lower()
    # every process sharing the key is now held back until Retry-After
    assert rl.blocked_for() > err.retry_after - 1.5
    rl.reset()


def test_429_on_post_is_retried_because_it_was_not_applied(fresh_sim):
    client = make_client(fresh_sim, max_retries=2, sleep=time.sleep)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.faults(rate_limit={"requests": 1, "window_s": 1})  # (a new limit starts a fresh count)
    client.request("GET", "/contacts", params={"_limit": 1})  # uses the one slot
    seq = fresh_sim.last_seq()
    new_id = contacts.contact_create(client, {"DisplayName": "Throttled Lead"})
    statuses = [r["status"] for r in requests_to(fresh_sim, seq, "/v1/contacts", "POST")]
    assert statuses[-1] == 201 and 429 in statuses
    assert new_id


def test_5xx_read_retried_with_backoff_then_raised(fresh_sim):
    slept: list[float] = []
    client = make_client(fresh_sim, max_retries=2, sleep=slept.append)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.faults(error_rate=1.0, error_status=503, error_code=1510)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkServerError) as info:
        client.request("GET", "/contacts", params={"_limit": 1})
    assert (info.value.status, info.value.code) == (503, 1510) and info.value.retryable
    assert len(requests_to(fresh_sim, seq, "/v1/contacts")) == 3
    assert len(slept) == 2 and 0.25 <= slept[0] <= 0.5 and 0.5 <= slept[1] <= 1.0  # exponential, jittered


def test_5xx_post_is_not_retried(fresh_sim):
    client = make_client(fresh_sim, max_retries=3)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.faults(error_rate=1.0, error_status=500, error_code=1026)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkServerError) as info:
        contacts.contact_create(client, {"DisplayName": "Maybe Applied"})
    assert (info.value.status, info.value.code) == (500, 1026)
    assert len(requests_to(fresh_sim, seq, "/v1/contacts", "POST")) == 1


def test_5xx_put_is_retried(fresh_sim):
    client = make_client(fresh_sim, max_retries=1)
    cid = first_contact_id(client)
    fresh_sim.faults(error_rate=1.0, error_status=502)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkServerError):
        contacts.contact_update(client, cid, {"ReferredBy": "Mr. Crowley"})
    assert len(requests_to(fresh_sim, seq, f"/v1/contacts/{cid}", "PUT")) == 2


def test_read_timeout_get_retried_post_not(fresh_sim):
    client = make_client(fresh_sim, read_timeout=0.3, max_retries=1)
    client.request("GET", "/contacts", params={"_limit": 1})
    fresh_sim.faults(latency_ms=800)
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkTimeout) as info:
        client.request("GET", "/contacts", params={"_limit": 1})
    assert info.value.retryable and info.value.status is None
    with pytest.raises(SparkTimeout):
        contacts.contact_create(client, {"DisplayName": "Slow Lead"})
    time.sleep(1.0)  # the sim finishes (and logs) what the client gave up on
    assert len(requests_to(fresh_sim, seq, "/v1/contacts", "GET")) == 2
    assert len(requests_to(fresh_sim, seq, "/v1/contacts", "POST")) == 1  # may have been applied: never repeated


def test_refused_connection_is_retried_even_for_post():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        slept: list[float] = []
        auth = ApiKeyAuth("k", "s", store=MemoryTokenStore())
        client = SparkClient(base_url=f"http://127.0.0.1:{port}", auth=auth, user_agent="t", max_retries=2,
                             sleep=slept.append)
        with pytest.raises(SparkConnectionError) as info:
            client.request("POST", "/contacts", data={"DisplayName": "x"})
        assert info.value.retryable and not info.value.request_sent and info.value.status is None
        # the session POST was refused three times: nothing reached Spark, so retrying was safe
        assert len(slept) == 2
