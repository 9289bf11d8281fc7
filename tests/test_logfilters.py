import logging

from crm.logfilters import RedactSecretsFilter, redact


def test_query_credentials_are_redacted():
    line = "GET /v1/contacts?AuthToken=abc123&ApiSig=deadbeef&_limit=25 HTTP/1.1"
    assert redact(line) == "GET /v1/contacts?AuthToken=[redacted]&ApiSig=[redacted]&_limit=25 HTTP/1.1"


def test_authorization_header_and_token_json_are_redacted():
    assert "tok" not in redact("{'Authorization': 'OAuth tok'}")
    assert "s3cret" not in redact('{"access_token": "s3cret", "expires_in": 86400}')


def test_filter_rewrites_formatted_record():
    record = logging.LogRecord("urllib3", logging.DEBUG, __file__, 1, "url %s", ("/x?AuthToken=zzz",), None)
    RedactSecretsFilter().filter(record)
    assert record.getMessage() == "url /x?AuthToken=[redacted]"
