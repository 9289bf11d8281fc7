from django.apps import AppConfig


class NewsfeedsAppConfig(AppConfig):
    name = "newsfeeds_app"
    verbose_name = "News feeds"

    def ready(self) -> None:
        from contacts_app import outbox

        from .delivery import HANDLERS

        for kind, handler in HANDLERS.items():
            outbox.register_handler(kind, handler)
