from django.apps import AppConfig


class NewsfeedsAppConfig(AppConfig):
    name = "newsfeeds_app"
    verbose_name = "News feeds"

    def ready(self) -> None:
        from crm.outbox import registry

        from .delivery import HANDLERS

        for kind, handler in HANDLERS.items():
            registry.register_handler(kind, handler)
