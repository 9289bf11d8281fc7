"""Every code in the notes' table maps to the right SparkError; the code beats the status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm.spark import errors as e

FIXTURES = Path("/work/shared/spark-fixtures")

TABLE = [
    # code, status per the notes (current page), class
    (404, 404, e.SparkNotFound), (405, 405, e.SparkNotAllowed),
    (1000, 401, e.SparkAuthError), (1005, 403, e.SparkForbidden), (1005, 500, e.SparkForbidden),
    (1010, 401, e.SparkAuthError), (1013, 403, e.SparkForbidden), (1015, 403, e.SparkForbidden),
    (1016, 400, e.SparkValidationError), (1017, 405, e.SparkNotAllowed), (1018, 405, e.SparkNotAllowed),
    (1019, 403, e.SparkForbidden), (1020, 401, e.SparkSessionExpired), (1021, 403, e.SparkForbidden),
    (1022, 422, e.SparkValidationError), (1023, 503, e.SparkServerError), (1024, 503, e.SparkServerError),
    (1026, 500, e.SparkServerError), (1030, 403, e.SparkForbidden), (1035, 400, e.SparkValidationError),
    (1040, 400, e.SparkValidationError), (1041, 400, e.SparkValidationError), (1050, 400, e.SparkValidationError),
    (1053, 400, e.SparkValidationError), (1055, 409, e.SparkConflict), (1060, 400, e.SparkValidationError),
    (1061, 400, e.SparkValidationError), (1100, 403, e.SparkForbidden), (1110, 409, e.SparkConflict),
    (1500, 403, e.SparkForbidden), (1505, 403, e.SparkForbidden), (1510, 503, e.SparkServerError),
    (1515, 503, e.SparkServerError), (1516, 503, e.SparkServerError), (1550, 429, e.SparkRateLimited),
    (1550, 503, e.SparkRateLimited),  # older pages: the code decides
    (2000, 400, e.SparkValidationError), (2001, 400, e.SparkValidationError), (2002, 400, e.SparkValidationError),
    (2003, 400, e.SparkValidationError), (2005, 503, e.SparkServerError), (2500, 400, e.SparkValidationError),
    (2505, 409, e.SparkConflict), (2999, 400, e.SparkValidationError), (3000, 400, e.SparkValidationError),
]

RETRYABLE = {e.SparkRateLimited, e.SparkServerError}


@pytest.mark.parametrize("code,status,cls", TABLE)
def test_code_table(code, status, cls):
    err = e.error_from_response(status, {"D": {"Success": False, "Code": code, "Message": f"msg {code}"}},
                                {"X-Request-Id": "rid"})
    assert type(err) is cls
    assert (err.status, err.code, err.message, err.request_id) == (status, code, f"msg {code}", "rid")
    assert err.retryable is (cls in RETRYABLE)


@pytest.mark.parametrize("status,cls", [(400, e.SparkValidationError), (401, e.SparkAuthError),
                                        (403, e.SparkForbidden), (404, e.SparkNotFound), (405, e.SparkNotAllowed),
                                        (409, e.SparkConflict), (429, e.SparkRateLimited), (500, e.SparkServerError),
                                        (502, e.SparkServerError), (418, e.SparkError)])
def test_status_fallback_without_code(status, cls):
    err = e.error_from_response(status, None)
    assert type(err) is cls and err.message == f"Spark answered HTTP {status}"


def test_unknown_code_falls_back_to_status():
    assert type(e.error_from_response(403, {"D": {"Code": 9999}})) is e.SparkForbidden
    assert type(e.error_from_response(400, {"D": {"Code": "not-a-number"}})) is e.SparkValidationError


def test_fixtures_keep_message_and_details():
    expired = json.loads((FIXTURES / "errors/expired.json").read_text())
    err = e.error_from_response(401, expired)
    assert isinstance(err, e.SparkSessionExpired) and err.message == "Session token has expired"
    constraint = json.loads((FIXTURES / "errors/failure_with_constraint.json").read_text())
    err = e.error_from_response(400, constraint)
    assert isinstance(err, e.SparkValidationError) and err.code == 1053
    assert err.details[0]["ListPrice"][0]["RuleName"] == "MaxIncreasePercent"
    dup = json.loads((FIXTURES / "errors/failure_with_msg.json").read_text())
    err = e.error_from_response(409, dup)
    assert isinstance(err, e.SparkConflict) and "belongs to another prospect" in err.message
    auth = json.loads((FIXTURES / "authentication_failure.json").read_text())
    assert type(e.error_from_response(401, auth)) is e.SparkAuthError


def test_errors_and_sparkql_errors_are_kept_apart_and_shown():
    body = {"D": {"Success": False, "Code": 1040, "Message": "Bad filter",
                  "SparkQLErrors": [{"Token": "Foo", "Message": "Unknown field Foo", "Status": "Fatal"}],
                  "Errors": [{"Type": "InvalidAttribute", "Attribute": "X", "Message": "X is wrong"}]}}
    err = e.error_from_response(400, body)
    assert err.sparkql_errors[0]["Token"] == "Foo" and err.errors[0]["Attribute"] == "X"
    assert err.agent_message == "Bad filter; X is wrong; Unknown field Foo"


def test_retry_after_seconds_and_http_date():
    assert e.error_from_response(429, {"D": {"Code": 1550}}, {"retry-after": "7"}).retry_after == 7.0
    assert e.error_from_response(429, {"D": {"Code": 1550}}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
                                 ).retry_after == 0.0
    assert e.error_from_response(429, {}, {"Retry-After": "soon"}).retry_after is None


def test_link_broken_is_an_auth_error():
    err = e.SparkLinkBroken("reconnect", status=400, oauth_error="invalid_grant")
    assert isinstance(err, e.SparkAuthError) and isinstance(err, e.SparkOAuthError)
    assert err.oauth_error == "invalid_grant" and not err.retryable
