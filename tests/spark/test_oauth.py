"""OAuth 2 against sparksim: authorize URL, code exchange, one refresh on 1020, a broken link, settings-only modes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from crm.spark import (
    ApiKeyAuth,
    OAuthAuth,
    SparkClient,
    authorize_url,
    client_from_settings,
    oauth_exchange_code,
)
from crm.spark.errors import SparkLinkBroken, SparkOAuthError
from crm.spark.resources import accounts

REDIRECT = "https://crm.example.com/spark/callback"


def browser_login(sim, login: str, state: str = "st4te") -> str:
    """What the agent does in the browser: open the authorize URL, sign in, follow the redirect."""
    url = authorize_url(state, REDIRECT)
    assert requests.get(url, timeout=10).status_code == 200
    acct = sim.account(login)
    query = parse_qs(urlsplit(url).query)
    resp = requests.post(sim.url + "/oauth2", data={**{k: v[0] for k, v in query.items()}, "login": login,
                                                    "password": acct["password"]},
                         allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text
    back = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert back["state"] == [state]
    return back["code"][0]


def oauth_client(sim, tokens, **kw) -> tuple[SparkClient, list]:
    saved: list = []
    auth = OAuthAuth(tokens, client_id="crm-demo-client", client_secret="crm-demo-secret", redirect_uri=REDIRECT,
                     on_refresh=saved.append, **kw)
    return SparkClient(base_url=sim.url, auth=auth, user_agent="FlexCRM-tests/1.0", max_retries=0), saved


def test_authorize_url_shape(sim):
    url = authorize_url("abc", REDIRECT)
    assert url.startswith(sim.url + "/oauth2?")
    assert parse_qs(urlsplit(url).query) == {"response_type": ["code"], "client_id": ["crm-demo-client"],
                                             "redirect_uri": [REDIRECT], "state": ["abc"]}


def test_code_exchange_then_refresh_once_on_1020(fresh_sim):
    tokens = oauth_exchange_code(None, browser_login(fresh_sim, "alice"), REDIRECT)
    assert tokens.access_token and tokens.refresh_token and not tokens.expired()
    assert "access" not in repr(tokens) and tokens.access_token not in repr(tokens)
    client, saved = oauth_client(fresh_sim, tokens)
    assert accounts.my_account(client).id == fresh_sim.account("alice")["user_id"]

    fresh_sim.expire_tokens()
    seq = fresh_sim.last_seq()
    assert accounts.my_account(client).name
    assert [(r["path"], r["status"]) for r in fresh_sim.requests_since(seq)] == [
        ("/v1/my/account", 401), ("/v1/oauth2/grant", 200), ("/v1/my/account", 200)]
    assert len(saved) == 1 and saved[0].access_token != tokens.access_token


def test_refused_refresh_is_a_broken_link_and_never_loops(fresh_sim):
    tokens = oauth_exchange_code(None, browser_login(fresh_sim, "alice"), REDIRECT)
    first, _ = oauth_client(fresh_sim, tokens)
    stale, saved = oauth_client(fresh_sim, tokens)  # another process, holding the same (soon used) refresh token
    fresh_sim.expire_tokens()
    accounts.my_account(first)  # refreshes: the refresh token rotates
    seq = fresh_sim.last_seq()
    with pytest.raises(SparkLinkBroken) as info:
        accounts.my_account(stale)
    err = info.value
    assert err.oauth_error == "invalid_grant" and err.status == 400
    assert err.message.startswith("Spark refused to refresh")
    assert [(r["path"], r["status"]) for r in fresh_sim.requests_since(seq)] == [
        ("/v1/my/account", 401), ("/v1/oauth2/grant", 400)]
    assert saved == []


def test_reload_takes_tokens_another_process_already_refreshed(fresh_sim):
    tokens = oauth_exchange_code(None, browser_login(fresh_sim, "alice"), REDIRECT)
    first, saved = oauth_client(fresh_sim, tokens)
    fresh_sim.expire_tokens()
    accounts.my_account(first)
    stale, stale_saved = oauth_client(fresh_sim, tokens, reload=lambda: saved[-1])
    seq = fresh_sim.last_seq()
    assert accounts.my_account(stale).id
    assert [(r["path"], r["status"]) for r in fresh_sim.requests_since(seq)] == [
        ("/v1/my/account", 401), ("/v1/my/account", 200)]  # no grant: the stored pair was used
    assert stale_saved == []


def test_known_expired_token_is_refreshed_before_the_request(fresh_sim):
    tokens = oauth_exchange_code(None, browser_login(fresh_sim, "alice"), REDIRECT)
    tokens.expires_at = 1.0  # long past
    client, saved = oauth_client(fresh_sim, tokens)
    seq = fresh_sim.last_seq()
    accounts.my_account(client)
    assert [r["path"] for r in fresh_sim.requests_since(seq)] == ["/v1/oauth2/grant", "/v1/my/account"]
    assert len(saved) == 1


def test_used_code_is_refused(fresh_sim):
    code = browser_login(fresh_sim, "alice")
    oauth_exchange_code(None, code, REDIRECT)
    with pytest.raises(SparkOAuthError) as info:
        oauth_exchange_code(None, code, REDIRECT)
    assert not isinstance(info.value, SparkLinkBroken) and info.value.oauth_error == "invalid_grant"


def test_auth_mode_comes_from_settings(fresh_sim, settings):
    acct = fresh_sim.account("alice")
    settings.SPARK_API_KEY, settings.SPARK_API_SECRET = acct["api_key"], acct["api_secret"]
    settings.SPARK_RATE_LIMIT_REQUESTS, settings.SPARK_RATE_LIMIT_WINDOW_S = 1000, 60
    client = client_from_settings()
    assert isinstance(client.auth, ApiKeyAuth) and client.rate_limiter is not None
    assert client.base_url == fresh_sim.url
    assert accounts.my_account(client).id == acct["user_id"]

    settings.SPARK_AUTH_MODE = "oauth"
    tokens = oauth_exchange_code(None, browser_login(fresh_sim, "bob"), REDIRECT)
    client = client_from_settings(tokens=tokens)
    assert isinstance(client.auth, OAuthAuth)
    assert accounts.my_account(client).id == fresh_sim.account("bob")["user_id"]
    with pytest.raises(ValueError):
        client_from_settings()  # OAuth mode needs the agent's tokens
    settings.SPARK_AUTH_MODE = "kerberos"
    with pytest.raises(ValueError):
        client_from_settings()
