"""Linking an agent's login to their flexmls account with OAuth 2 (authorization-code grant)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from crm import crypto
from crm.spark import OAuthAuth, OAuthTokens, build_client
from crm.spark.oauth import oauth_exchange_code
from crm.spark.resources.accounts import my_account

from .models import SparkAccount, SparkWrite


def spark_account_link_oauth(*, user, code: str, redirect_uri: str) -> SparkAccount:
    """Trade the code for tokens, learn who the agent is in Spark, and keep the tokens (encrypted).

    Raises SparkError (SparkOAuthError for a refused code) for the page to show.
    """
    from django.conf import settings

    tokens: OAuthTokens = oauth_exchange_code(None, code, redirect_uri)
    auth = OAuthAuth(tokens, client_id=settings.SPARK_OAUTH_CLIENT_ID,
                     client_secret=settings.SPARK_OAUTH_CLIENT_SECRET, redirect_uri=redirect_uri)
    me = my_account(build_client(auth, rate_key="oauth:" + settings.SPARK_OAUTH_CLIENT_ID))
    with transaction.atomic():
        account = (SparkAccount.objects.select_for_update().filter(user=user).first()
                   or SparkAccount.objects.select_for_update().filter(spark_user_id=me.id).first()
                   or SparkAccount(user=user))
        if account.pk and account.user_id != user.pk:
            raise PermissionError("That flexmls account is already linked to another login.")
        if account.pk and account.spark_user_id and account.spark_user_id != me.id:
            raise PermissionError("You signed in to flexmls as someone else; sign in as your own agent account.")
        account.spark_user_id = me.id
        account.name = me.name or account.name
        account.email = me.email or account.email
        account.office_id = me.office_id or account.office_id
        account.office_name = me.office_name or account.office_name
        account.auth_mode = SparkAccount.AuthMode.OAUTH
        account.access_token_encrypted = crypto.encrypt(tokens.access_token)
        account.refresh_token_encrypted = crypto.encrypt(tokens.refresh_token)
        account.token_expires_at = dt.datetime.fromtimestamp(tokens.expires_at, tz=dt.UTC)
        account.link_status = SparkAccount.LinkStatus.LINKED
        account.link_error = ""
        account.save()
        waiting = list(SparkWrite.objects.filter(account=account, status=SparkWrite.Status.QUEUED)
                       .values_list("pk", flat=True))
        SparkWrite.objects.filter(pk__in=waiting).update(next_attempt_at=None, updated_at=timezone.now())

        def resume():
            from .tasks import deliver_write, refresh_agent_directory, sync_agent_contacts

            sync_agent_contacts.delay(account.pk)
            refresh_agent_directory.delay(account.pk)  # whom the agent may transfer to, before they need it
            for write_id in waiting:
                deliver_write.delay(write_id)

        transaction.on_commit(resume)
    return account


def spark_account_mark_broken(*, account: SparkAccount, message: str) -> None:
    SparkAccount.objects.filter(pk=account.pk).update(
        link_status=SparkAccount.LinkStatus.BROKEN, link_error=message[:500], updated_at=timezone.now()
    )
