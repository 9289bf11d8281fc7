"""A brokerage links an agent to act through its own key with ApiUser (settings only)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from contacts_app.models import Contact
from contacts_app.sync import contacts_sync
from crm.agents.models import SparkAccount


@pytest.mark.django_db(transaction=True)
def test_agent_linked_through_the_brokerage_key_with_api_user(fresh_sim):
    mona, dave = fresh_sim.account("mona"), fresh_sim.account("dave")
    get_user_model().objects.create_user("dave.b", password="x")
    with override_settings(SPARK_API_KEY=mona["api_key"], SPARK_API_SECRET=mona["api_secret"]):
        call_command("link_agent", "dave.b", "--spark-user-id", dave["user_id"], "--api-user")
        account = SparkAccount.objects.get(user__username="dave.b")
        assert account.auth_mode == "api_user" and account.name == dave["name"] and account.api_key == ""
        seq = fresh_sim.last_seq()
        contacts_sync(account=account, full=True)
    owned = fresh_sim.control("GET", f"/_sim/contacts?owner={dave['user_id']}").json()["contacts"]
    assert Contact.objects.filter(owner=account).count() == len(owned)
    sent = [r for r in fresh_sim.requests_since(seq) if r["path"] == "/v1/contacts"]
    assert sent and all(r["api_key"] == mona["api_key"] for r in sent)
