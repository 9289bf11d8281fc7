from django.apps import AppConfig


class SharingAppConfig(AppConfig):
    name = "sharing_app"
    verbose_name = "Shared links"

    def ready(self) -> None:
        from crm.outbox import registry
        from crm.outbox.models import SparkWrite

        from .delivery import deliver_shared_link_create

        registry.register_handler(SparkWrite.Kind.SHARED_LINK_CREATE, deliver_shared_link_create)
