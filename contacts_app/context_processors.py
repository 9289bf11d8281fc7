"""What every page says about the agent's link to flexmls: broken link, Spark down, changes needing a decision."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from crm.agents.guards import account_for_user
from crm.agents.models import SparkAccount

from . import selectors


def spark_status(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    account = account_for_user(user)
    if account is None:
        return {}
    # Read (in one query, shared with the view) only by a template that shows them: the polled fragments do not.
    return {
        "link_broken": account.link_status == SparkAccount.LinkStatus.BROKEN,
        "link_error": account.link_error,
        "spark_health": SimpleLazyObject(lambda: selectors.agent_overview(account=account).health),
        "attention_count": SimpleLazyObject(lambda: selectors.agent_overview(account=account).attention_count),
    }
