"""Link an agent's login to their Spark user, for brokerages that act for agents with their own key.

  manage.py link_agent jdoe --spark-user-id 2009... --api-user      # the brokerage key (SPARK_API_KEY) + ApiUser
  manage.py link_agent jdoe --spark-user-id 2009... --api-key K     # the agent's own key (secret asked for)

Agents who log in to flexmls themselves use the "Link flexmls" button (OAuth 2) instead.
"""

from __future__ import annotations

import getpass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contacts_app.tasks import refresh_agent_directory, sync_agent_contacts
from crm.agents.models import SparkAccount
from crm.spark import SparkError
from crm.spark.resources.accounts import account_get


class Command(BaseCommand):
    help = "Link an agent's login to a Spark user (brokerage key with ApiUser, or the agent's own API key)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--spark-user-id", required=True)
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--api-user", action="store_true", help="act through SPARK_API_KEY with ApiUser")
        mode.add_argument("--api-key", help="the agent's own API key (the secret is asked for)")

    def handle(self, *args, username, spark_user_id, api_user, api_key, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No login {username!r}; create it first (manage.py createuser or the admin).")
        if api_user and not (settings.SPARK_API_KEY and settings.SPARK_API_SECRET):
            raise CommandError("--api-user needs SPARK_API_KEY and SPARK_API_SECRET set.")
        account = SparkAccount.objects.filter(user=user).first() or SparkAccount(user=user)
        account.spark_user_id = spark_user_id
        if api_user:
            account.auth_mode = SparkAccount.AuthMode.API_USER
        else:
            account.auth_mode = SparkAccount.AuthMode.API_KEY
            account.api_key = api_key
            account.api_secret = getpass.getpass("API secret: ")
        from crm.agents.spark import client_for_account

        try:
            me = account_get(client_for_account(account), spark_user_id)
        except SparkError as exc:
            raise CommandError(f"Spark refused: {exc.agent_message}") from exc
        account.name, account.email = me.name, me.email
        account.office_id, account.office_name = me.office_id or "", me.office_name
        account.link_status, account.link_error = SparkAccount.LinkStatus.LINKED, ""
        account.save()
        sync_agent_contacts.delay(account.pk, True)
        refresh_agent_directory.delay(account.pk)
        self.stdout.write(self.style.SUCCESS(f"Linked {username} to {me.name} ({me.office_name}); first sync queued."))
