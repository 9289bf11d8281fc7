"""The logged-in user comes with their Spark link: one query per request for both (every page needs the account)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UserWithAccountMixin:
    """`get_user` (what the session middleware calls on each request) joins the agent's SparkAccount, so
    `user.spark_account` is read without a query of its own (None is cached too, for a user with no link)."""

    def get_user(self, user_id):
        User = get_user_model()
        try:
            user = User._default_manager.select_related("spark_account").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


class AgentModelBackend(UserWithAccountMixin, ModelBackend):
    """Django's username/password backend, loading the user with their Spark link."""
