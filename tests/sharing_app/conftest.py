from __future__ import annotations

import pytest

from contacts_app.sync import contacts_sync
from sharing_app.sync import sharing_sync


@pytest.fixture
def alice(fresh_sim, link_agent):
    """Alice linked, with her contacts and her sharing cache (listings, saved searches, links) in the store."""
    account = link_agent("alice")
    contacts_sync(account=account, full=True)
    result = sharing_sync(account=account)
    assert result.ran and not result.errors, result.errors
    return account
