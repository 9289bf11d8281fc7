"""What contacts_app does when something happens elsewhere (connected in ContactsAppConfig.ready())."""

from __future__ import annotations

from django.db import transaction


def account_linked_sync(sender, *, account, **kwargs) -> None:
    """A link made (or made again): sync the agent's contacts, and fetch whom they may transfer to before they
    need it."""

    def queue():
        from .tasks import refresh_agent_directory, sync_agent_contacts

        sync_agent_contacts.delay(account.pk)
        refresh_agent_directory.delay(account.pk)

    transaction.on_commit(queue)
