"""The notes' signature test vectors (from the official Ruby client's spec)."""

import pytest

from crm.spark.auth import request_signature, session_signature


def test_doc_session_vector():
    assert session_signature("1234", "abcd") == "2fde9e59147081ad4e39382e1f809710"
    assert session_signature("my_secret", "my_key") == "c731cf2455fbc7a4ef937b2301108d7a"


@pytest.mark.parametrize(
    "secret,key,path,params,body,expected",
    [
        ("my_secret", "my_key", "/test", {"AuthToken": "1234", "ApiUser": "CoolAsIce"}, "",
         "7bbe3384a8b64368357f8551cab271e3"),
        ("my_secret", "my_key", "/v1/listings",
         {"AuthToken": "1234", "ApiUser": "foobar", "_limit": "10", "_page": "1", "_pagination": "1"}, "",
         "1cb789831f8f4c6925dc708c93762a2c"),
        ("my_secret", "my_key", "/v1/contacts", {"AuthToken": "1234", "ApiUser": "foobar"},
         '{"D":{"Contacts":[{"DisplayName":"Contact Four","PrimaryEmail":"contact4@fbsdata.com"}]}}',
         "82898ef88d22e1b31bd2e2ea6bb8efe7"),
        ("", "", "/v1/listings/1234",
         {"AuthToken": "c401736bf3d3f754f07c04e460e09573", "ApiUser": "foobar", "_expand": "Documents"}, "",
         "554b6e2a3efec8719b782647c19d238d"),
    ],
)
def test_request_vectors(secret, key, path, params, body, expected):
    assert request_signature(secret, key, path, params, body) == expected


def test_apisig_param_itself_is_not_signed():
    params = {"AuthToken": "1234", "ApiUser": "CoolAsIce"}
    assert request_signature("my_secret", "my_key", "/test", {**params, "ApiSig": "x"}) == request_signature(
        "my_secret", "my_key", "/test", params
    )
