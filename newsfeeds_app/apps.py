from django.apps import AppConfig


class NewsfeedsAppConfig(AppConfig):
    name = "newsfeeds_app"
    verbose_name = "News feeds"

    def ready(self) -> None:
        from contacts_app.models import contact_merged
        from crm.outbox import registry
        from crm.outbox.bulk import register_preparer
        from crm.outbox.models import BulkJob

        from .bulk import schedule_bulk_prepare
        from .delivery import HANDLERS
        from .tasks import refresh_after_merge

        for kind, handler in HANDLERS.items():
            registry.register_handler(kind, handler)
        register_preparer(BulkJob.Kind.SCHEDULE, schedule_bulk_prepare)
        contact_merged.connect(refresh_after_merge, dispatch_uid="newsfeeds_app.refresh_after_merge")
