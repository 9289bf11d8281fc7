"""The Spark client that acts for one agent, built from their SparkAccount link."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from crm import crypto
from crm.spark import ApiKeyAuth, OAuthAuth, OAuthTokens, SparkClient, build_client, token_store

from .models import SparkAccount


def client_for_account(account: SparkAccount, **overrides) -> SparkClient:
    mode = account.auth_mode
    if mode == SparkAccount.AuthMode.API_KEY:
        auth = ApiKeyAuth(account.api_key, account.api_secret, store=token_store())
        return build_client(auth, rate_key=account.api_key, **overrides)
    if mode == SparkAccount.AuthMode.API_USER:
        auth = ApiKeyAuth(
            settings.SPARK_API_KEY, settings.SPARK_API_SECRET, api_user=account.spark_user_id, store=token_store()
        )
        return build_client(auth, rate_key=settings.SPARK_API_KEY, **overrides)

    def save_tokens(tokens: OAuthTokens) -> None:
        SparkAccount.objects.filter(pk=account.pk).update(
            access_token_encrypted=crypto.encrypt(tokens.access_token),
            refresh_token_encrypted=crypto.encrypt(tokens.refresh_token),
            token_expires_at=dt.datetime.fromtimestamp(tokens.expires_at, tz=dt.UTC),
            updated_at=timezone.now(),
        )

    def stored_tokens() -> OAuthTokens | None:
        """The tokens as stored now: another process may have refreshed them (refresh tokens are single-use)."""
        fresh = SparkAccount.objects.filter(pk=account.pk).first()
        return _tokens_of(fresh) if fresh is not None else None

    auth = OAuthAuth(
        _tokens_of(account),
        client_id=settings.SPARK_OAUTH_CLIENT_ID,
        client_secret=settings.SPARK_OAUTH_CLIENT_SECRET,
        on_refresh=save_tokens,
        reload=stored_tokens,
    )
    return build_client(auth, rate_key="oauth:" + settings.SPARK_OAUTH_CLIENT_ID, **overrides)


def _tokens_of(account: SparkAccount) -> OAuthTokens:
    return OAuthTokens(
        access_token=crypto.decrypt(account.access_token_encrypted),
        refresh_token=crypto.decrypt(account.refresh_token_encrypted),
        expires_at=account.token_expires_at.timestamp() if account.token_expires_at else 0,
    )
