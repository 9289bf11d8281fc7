from django.apps import AppConfig


class ContactsAppConfig(AppConfig):
    name = "contacts_app"
    verbose_name = "Contacts"

    def ready(self) -> None:
        from crm.agents.linking import account_linked
        from crm.outbox import registry
        from crm.outbox.bulk import register_preparer
        from crm.outbox.models import SparkWrite

        from . import bulk, delivery, signals

        for kind, handler in delivery.HANDLERS.items():
            registry.register_handler(kind, handler)
        registry.register_settled(delivery.write_settled)
        registry.register_failed(SparkWrite.Kind.DELETE, delivery.delete_failed)
        register_preparer(None, bulk.contacts_prepare)  # tags, untags, transfers, deletes
        account_linked.connect(signals.account_linked_sync, dispatch_uid="contacts_app.account_linked_sync")
