"""Login throttling with django-axes: the backend that refuses a locked-out login, and the page that says so.

A lockout is keyed by username and address (settings: AXES_FAILURE_LIMIT, AXES_COOLOFF_MINUTES). A broker unlocks
it early by deleting the access attempt in the admin.
"""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check for logins over HTTP. A login without a request (a management command, the test client's
    `login()`) cannot be guessed at from outside, so it is not counted or refused here."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def minutes_left(request: HttpRequest, username: str) -> int:
    """Whole minutes until this username may try again from this address (at least 1)."""
    cool_off = settings.AXES_COOLOFF_TIME
    latest = (AccessAttempt.objects.filter(username=username, ip_address=getattr(request, "axes_ip_address", None))
              .order_by("-attempt_time").values_list("attempt_time", flat=True).first())
    remaining = (latest + cool_off - timezone.now()) if latest else cool_off
    return max(1, math.ceil(remaining.total_seconds() / 60))


def lockout_message(minutes: int) -> str:
    return f"Too many failed attempts — try again in {minutes} minute{'s' if minutes != 1 else ''}."


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """The login page the user just posted (the app's or the admin's) with the lockout message instead of the
    usual error, as 429. Both login views answer with a TemplateResponse whose form we can reuse."""
    message = lockout_message(minutes_left(request, get_client_username(request, credentials)))
    context = getattr(original_response, "context_data", None)
    if not isinstance(original_response, TemplateResponse) or not context or "form" not in context:
        return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    form = context["form"]
    form._errors = ErrorDict({"__all__": form.error_class([message], error_class="nonfield")})
    response = TemplateResponse(request, original_response.template_name,
                                {**context, "form": form, "lockout_message": message}, status=429)
    return response.render()  # the middleware above us reads the content
