from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ContactsAppConfig(AppConfig):
    name = "contacts_app"
    verbose_name = "Contacts"

    def ready(self) -> None:
        from crm.agents.linking import account_linked
        from crm.agents.models import AgentDirectoryEntry
        from crm.outbox import registry
        from crm.outbox.bulk import register_preparer
        from crm.outbox.models import BulkJob, SparkWrite

        from . import bulk, bulk_merge, delivery, merge, signals
        from .forms import directory_version_bump

        for kind, handler in delivery.HANDLERS.items():
            registry.register_handler(kind, handler)
        registry.register_settled(delivery.write_settled)
        registry.register_failed(SparkWrite.Kind.DELETE, delivery.delete_failed)
        registry.register_handler(SparkWrite.Kind.MERGE, merge.deliver_merge)
        registry.register_failed(SparkWrite.Kind.MERGE, merge.merge_failed)
        register_preparer(None, bulk.contacts_prepare)  # tags, untags, transfers, deletes
        register_preparer(BulkJob.Kind.MERGE, bulk_merge.merge_prepare)  # obvious duplicate groups
        account_linked.connect(signals.account_linked_sync, dispatch_uid="contacts_app.account_linked_sync")
        post_save.connect(directory_version_bump, sender=AgentDirectoryEntry, dispatch_uid="directory-version-save")
        post_delete.connect(directory_version_bump, sender=AgentDirectoryEntry,
                            dispatch_uid="directory-version-delete")
