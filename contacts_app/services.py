"""Writes to our own store. (Writes to Spark go through the outbox.)"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import SparkAccount


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
