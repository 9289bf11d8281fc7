"""Linking an agent's login to their flexmls account: OAuth 2 (authorization-code grant), or a key given by a script.

Once a link is made (or made again), `account_linked` is sent inside the transaction: the outbox sends the writes
that waited for it and contacts_app queues the agent's sync; this module imports neither."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from crm import crypto
from crm.spark import OAuthAuth, OAuthTokens, build_client
from crm.spark.oauth import oauth_exchange_code
from crm.spark.resources.accounts import my_account

from .models import SparkAccount

# Sent inside the linking transaction, with `account`; receivers queue their work with transaction.on_commit.
account_linked = Signal()


@transaction.atomic
def spark_account_link(
    *,
    username: str,
    password: str,
    spark_user_id: str,
    name: str,
    email: str = "",
    office_id: str = "",
    office_name: str = "",
    mls_admin: bool = False,
    api_key: str = "",
    api_secret: str = "",
    auth_mode: str = SparkAccount.AuthMode.API_KEY,
) -> SparkAccount:
    """Create or update an agent login and its Spark link (demo set-up, tests, onboarding scripts)."""
    User = get_user_model()
    first, _, last = name.partition(" ")
    user, _ = User.objects.get_or_create(username=username, defaults={"email": email})
    user.first_name, user.last_name, user.email = first, last, email
    user.set_password(password)
    user.save()
    account = SparkAccount.objects.filter(spark_user_id=spark_user_id).first() or SparkAccount(user=user)
    account.user = user
    account.spark_user_id = spark_user_id
    account.name = name
    account.email = email
    account.office_id = office_id
    account.office_name = office_name
    account.mls_admin = mls_admin
    account.auth_mode = auth_mode
    account.api_key = api_key
    account.api_secret = api_secret
    account.link_status = SparkAccount.LinkStatus.LINKED
    account.save()
    return account




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
        account_linked.send(sender=SparkAccount, account=account)
    return account


def spark_account_mark_broken(*, account: SparkAccount, message: str) -> None:
    SparkAccount.objects.filter(pk=account.pk).update(
        link_status=SparkAccount.LinkStatus.BROKEN, link_error=message[:500], updated_at=timezone.now()
    )
