"""Linking the agent's flexmls account (OAuth 2): the redirect to flexmls's login and the callback."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm.spark import SparkError
from crm.spark.oauth import authorize_url

from .linking import spark_account_link_oauth


@login_required
@require_POST
def link_start(request):
    state = secrets.token_urlsafe(24)
    request.session["oauth_state"] = state
    redirect_uri = request.build_absolute_uri(reverse("contacts:link_callback"))
    return redirect(authorize_url(state, redirect_uri))


# The error codes of RFC 6749 4.1.2.1: the only part of an error response the agent is shown.
OAUTH_ERROR_CODES = frozenset({"invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
                               "invalid_scope", "server_error", "temporarily_unavailable"})


@login_required
@require_GET
def link_callback(request):
    # The pending attempt survives an error or a forged callback: only the matching state uses it up.
    expected = request.session.get("oauth_state")
    if request.GET.get("error"):
        # Spark's own words are not shown: anyone can send an agent here with an error_description of their choice.
        code = request.GET["error"]
        known = f" ({code})" if code in OAUTH_ERROR_CODES else ""
        messages.error(request, f"flexmls did not link your account{known}. Please try linking again.")
        return redirect("contacts:list")
    if not expected or not secrets.compare_digest(expected.encode(), request.GET.get("state", "").encode()):
        messages.error(request, "That link attempt expired or did not start here; please try again.")
        return redirect("contacts:list")
    request.session.pop("oauth_state", None)
    redirect_uri = request.build_absolute_uri(reverse("contacts:link_callback"))
    try:
        account = spark_account_link_oauth(user=request.user, code=request.GET.get("code", ""),
                                           redirect_uri=redirect_uri)
    except SparkError as exc:
        messages.error(request, f"flexmls refused the link: {exc.agent_message}")
        return redirect("contacts:list")
    except PermissionError as exc:
        messages.error(request, str(exc))
        return redirect("contacts:list")
    messages.success(request, f"Linked to flexmls as {account.name}. Your contacts are on their way.")
    return redirect("contacts:list")
