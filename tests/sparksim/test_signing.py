"""Unit tests: the signing rules and the notes' test vectors (spark-api-notes §1a)."""

from __future__ import annotations

import pytest

from sparksim.auth import path_variants, request_signature, session_signature, signature_matches

CONTACT_BODY = '{"D":{"Contacts":[{"DisplayName":"Contact Four","PrimaryEmail":"contact4@fbsdata.com"}]}}'


def test_doc_session_vector() -> None:
    assert session_signature("1234", "abcd") == "2fde9e59147081ad4e39382e1f809710"


def test_gem_session_vector() -> None:
    assert session_signature("my_secret", "my_key") == "c731cf2455fbc7a4ef937b2301108d7a"


@pytest.mark.parametrize(("secret", "key", "path", "params", "body", "expected"), [
    ("my_secret", "my_key", "/test", {"AuthToken": "1234", "ApiUser": "CoolAsIce"}, "",
     "7bbe3384a8b64368357f8551cab271e3"),
    ("my_secret", "my_key", "/v1/listings",
     {"AuthToken": "1234", "ApiUser": "foobar", "_limit": "10", "_page": "1", "_pagination": "1"}, "",
     "1cb789831f8f4c6925dc708c93762a2c"),
    ("my_secret", "my_key", "/v1/contacts", {"AuthToken": "1234", "ApiUser": "foobar"}, CONTACT_BODY,
     "82898ef88d22e1b31bd2e2ea6bb8efe7"),
    ("", "", "/v1/listings/1234",
     {"AuthToken": "c401736bf3d3f754f07c04e460e09573", "ApiUser": "foobar", "_expand": "Documents"}, "",
     "554b6e2a3efec8719b782647c19d238d"),
])
def test_gem_request_vectors(secret, key, path, params, body, expected) -> None:
    assert request_signature(secret, key, path, params, body) == expected


def test_apisig_itself_is_not_signed() -> None:
    params = {"AuthToken": "1234", "ApiUser": "CoolAsIce"}
    assert request_signature("my_secret", "my_key", "/test", {**params, "ApiSig": "x"}) == \
        "7bbe3384a8b64368357f8551cab271e3"


def test_keys_sort_bytewise_uppercase_before_underscore_before_lowercase() -> None:
    a = request_signature("s", "k", "/v1/x", {"b": "1", "_a": "2", "Z": "3"})
    from hashlib import md5
    assert a == md5(b"sApiKeykServicePath/v1/xZ3_a2b1", usedforsecurity=False).hexdigest()


def test_path_variants_cover_escaped_and_unescaped() -> None:
    variants = path_variants("/v1/contacts/tags/IDX%20Lead", "/v1/contacts/tags/IDX Lead")
    assert "/v1/contacts/tags/IDX Lead" in variants
    assert "/v1/contacts/tags/IDX%20Lead" in variants


def test_signature_matches_either_path_spelling() -> None:
    params = {"AuthToken": "t"}
    paths = path_variants("/v1/contacts/tags/IDX%20Lead", "/v1/contacts/tags/IDX Lead")
    for signed in ("/v1/contacts/tags/IDX Lead", "/v1/contacts/tags/IDX%20Lead"):
        sig = request_signature("s", "k", signed, params)
        assert signature_matches(sig.upper(), "s", "k", paths, params, "")
    assert not signature_matches("0" * 32, "s", "k", paths, params, "")
