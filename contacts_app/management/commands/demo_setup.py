"""Create the demo agents of `make run` from sparksim's demo accounts and start their first sync."""

from __future__ import annotations

import os
import time

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from contacts_app.tasks import sync_agent_contacts
from crm.agents.linking import spark_account_link
from crm.agents.models import OfficeMember

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - the published demo password


class Command(BaseCommand):
    help = "Create demo agents (one per sparksim Private-role account) and queue their first contacts sync."

    def add_arguments(self, parser):
        parser.add_argument("--sim-url", default=settings.SPARK_API_BASE)
        parser.add_argument("--password", default=DEMO_PASSWORD)
        parser.add_argument("--no-sync", action="store_true")
        parser.add_argument("--wait", action="store_true", help="wait up to 120 s for sparksim to come up")

    def handle(self, *args, sim_url, password, no_sync, wait, **options):
        deadline = time.monotonic() + (120 if wait else 0)
        while True:
            try:
                requests.get(sim_url.rstrip("/") + "/_sim/health", timeout=2).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        try:
            data = requests.get(sim_url.rstrip("/") + "/_sim/accounts", timeout=10).json()
        except (requests.RequestException, ValueError) as exc:
            raise CommandError(f"Could not read demo accounts from sparksim at {sim_url}: {exc}") from exc
        rows = []
        office = ("", "")  # the broker runs the first agent's office (the demo's Red River Realty)
        for acct in data["accounts"]:
            if acct.get("role") != "Private":
                continue
            account = spark_account_link(
                username=acct["login"], password=password, spark_user_id=acct["user_id"], name=acct["name"],
                email=acct.get("email", ""), office_id=acct.get("office_id", ""),
                office_name=acct.get("office_name", ""), mls_admin=bool(acct.get("mls_admin")),
                api_key=acct["api_key"], api_secret=acct["api_secret"],
            )
            rows.append((acct["login"], acct["name"], acct.get("office_name", ""), acct.get("mls_admin")))
            office = office if office[0] else (acct.get("office_id", ""), acct.get("office_name", ""))
            if not no_sync:
                sync_agent_contacts.delay(account.pk, True)
        User = get_user_model()
        broker, _ = User.objects.get_or_create(username="broker", defaults={"first_name": "Brook", "last_name": "Broker"})
        broker.is_staff, broker.is_superuser = True, False  # a broker: the Broker group's permissions, no more
        broker.set_password(password)
        broker.save()
        broker.groups.add(broker_group())
        OfficeMember.objects.update_or_create(user=broker, defaults={"office_id": office[0], "office_name": office[1],
                                                                     "mls_wide": False})
        self.stdout.write(f"Demo logins (password for all: {password}):")
        for login, name, office, admin in rows:
            self.stdout.write(f"  {login:<8} {name}, {office}{' (MLS admin)' if admin else ''}")
        self.stdout.write(f"  broker   the broker of {office[1]} (the admin at /admin/)")
        port = os.environ.get("WEB_PORT", "8000")
        self.stdout.write(self.style.SUCCESS(f"\nFlexCRM is starting at http://127.0.0.1:{port}/  (Ctrl-C stops everything)"))


def broker_group():
    """The Broker group with the permissions its migrations give it (a flushed test database lost them)."""
    import importlib

    from django.apps import apps

    migrations = "contacts_app.migrations."
    importlib.import_module(migrations + "0004_broker_group").broker_group_create(apps)
    importlib.import_module(migrations + "0006_broker_unlocks_logins").broker_unlock_grant(apps)
    importlib.import_module(migrations + "0010_broker_people").broker_people_grant(apps)
    return Group.objects.get(name="Broker")
