from django.apps import AppConfig


class SharingAppConfig(AppConfig):
    name = "sharing_app"
    verbose_name = "Shared links"

    def ready(self) -> None:
        from contacts_app import outbox
        from contacts_app.models import SparkWrite

        from .delivery import deliver_shared_link_create

        outbox.register_handler(SparkWrite.Kind.SHARED_LINK_CREATE, deliver_shared_link_create)
