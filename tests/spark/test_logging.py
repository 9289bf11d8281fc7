"""Each request logs method, path (never the query), status, Spark code, ms and request id; no secret anywhere."""

from __future__ import annotations

import logging
import re

import pytest

from crm.spark.errors import SparkNotFound
from tests.spark.helpers import make_client

LINE = re.compile(r"^spark (GET|POST|PUT|DELETE) (/v1/\S*) status=(\d+|None) code:(\d+|-) ms=\d+ request_id=(\w+)$")


def test_request_lines(fresh_sim, caplog):
    acct = fresh_sim.account("alice")
    client = make_client(fresh_sim)
    with caplog.at_level(logging.INFO, logger="crm.spark"):
        client.request("GET", "/contacts", params={"_limit": 1, "_filter": "DisplayName Eq 'secret-ish'"})
        with pytest.raises(SparkNotFound):
            client.request("GET", "/contacts/20000101000000000000999999")
    lines = [r.getMessage() for r in caplog.records if r.name == "crm.spark"]
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m[1], m[2], m[3], m[4]) for m in parsed] == [
        ("POST", "/v1/session", "200", "-"), ("GET", "/v1/contacts", "200", "-"),
        ("GET", "/v1/contacts/20000101000000000000999999", "404", "404")]
    log_ids = {r["request_id"] for r in fresh_sim.requests_since(0)}
    assert {m[5] for m in parsed} <= log_ids
    text = "\n".join(lines) + caplog.text
    for secret in (acct["api_secret"], acct["api_key"], "AuthToken", "ApiSig", "secret-ish", "?"):
        assert secret not in text
    record = next(r for r in caplog.records if getattr(r, "spark_status", None) == 404)
    assert record.spark_code == 404 and record.spark_path.endswith("999999")
