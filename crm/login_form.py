"""The login form: says so when a login was disabled by the broker, instead of "didn't match"."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

DISABLED_MESSAGE = "This login has been disabled by your broker. Ask them to enable it."


class LoginForm(AuthenticationForm):
    login_disabled = False

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            # Only with the right password: a wrong one never learns whether a login exists or is disabled.
            username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
            user = get_user_model()._default_manager.filter(username=username, is_active=False).first()
            if user is not None and password and user.check_password(password):
                self.login_disabled = True
                raise ValidationError(DISABLED_MESSAGE, code="inactive") from None
            raise
