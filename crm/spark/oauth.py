"""OAuth 2 authorization-code flow: the browser URL to send an agent to, and the code exchange.

Spark's token endpoint is `POST /v1/oauth2/grant` with a JSON body; its answer is not D-wrapped.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from crm.spark.auth import NoAuth, OAuthTokens
from crm.spark.client import SparkClient


def authorize_url(state: str, redirect_uri: str, *, client_id: str | None = None, base: str | None = None) -> str:
    """Where to send the agent's browser: `<SPARK_OAUTH_AUTHORIZE_URL>?response_type=code&client_id=…`."""
    from django.conf import settings

    base = base or settings.SPARK_OAUTH_AUTHORIZE_URL
    query = urlencode({
        "response_type": "code",
        "client_id": client_id or settings.SPARK_OAUTH_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": state,
    })
    return f"{base}{'&' if '?' in base else '?'}{query}"


def _grant_client(client_or_settings: Any) -> SparkClient:
    if isinstance(client_or_settings, SparkClient):
        return client_or_settings
    if client_or_settings is None:
        from django.conf import settings

        client_or_settings = settings
    s = client_or_settings
    return SparkClient(
        base_url=s.SPARK_API_BASE,
        auth=NoAuth(),
        user_agent=s.SPARK_USER_AGENT,
        version=getattr(s, "SPARK_API_VERSION", "v1"),
        connect_timeout=getattr(s, "SPARK_CONNECT_TIMEOUT", 3.05),
        read_timeout=getattr(s, "SPARK_READ_TIMEOUT", 20.0),
        max_retries=0,
    )


def _grant(client_or_settings: Any, grant: dict, client_id: str | None, client_secret: str | None) -> OAuthTokens:
    from django.conf import settings

    client = _grant_client(client_or_settings)
    source = client_or_settings if client_or_settings is not None and not isinstance(
        client_or_settings, SparkClient) else settings
    return client.oauth_grant({
        "client_id": client_id or source.SPARK_OAUTH_CLIENT_ID,
        "client_secret": client_secret or source.SPARK_OAUTH_CLIENT_SECRET,
        **grant,
    })


def oauth_exchange_code(
    client_or_settings: Any,
    code: str,
    redirect_uri: str,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> OAuthTokens:
    """Trade the authorization code from the redirect for an access/refresh token pair.

    `client_or_settings`: a SparkClient, a settings object, or None for Django's settings. Raises
    SparkOAuthError when Spark refuses the code (expired, used, wrong redirect_uri).
    """
    return _grant(client_or_settings, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
                  client_id, client_secret)


def oauth_refresh(client_or_settings: Any, refresh_token: str, redirect_uri: str = "", *,
                  client_id: str | None = None, client_secret: str | None = None) -> OAuthTokens:
    """Run the refresh grant directly (SparkLinkBroken when refused)."""
    return _grant(client_or_settings,
                  {"grant_type": "refresh_token", "refresh_token": refresh_token, "redirect_uri": redirect_uri},
                  client_id, client_secret)
