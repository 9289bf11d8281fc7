"""The guard of every agent page: logged in and linked to a Spark account."""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import SparkAccount


def account_for_user(user) -> SparkAccount | None:
    """The agent's Spark link: loaded with the user by the session's auth backend (crm.auth_backends), else read
    once and kept on the user for the rest of the request (None included)."""
    if not user.is_authenticated:
        return None
    try:
        return user.spark_account
    except SparkAccount.DoesNotExist:
        return None


def agent_required(view):
    """Logged in and linked to a Spark account; the account is passed to the view."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        account = account_for_user(request.user)
        if account is None:
            return render(request, "contacts_app/not_linked.html", status=403)
        return view(request, account, *args, **kwargs)

    return wrapper
