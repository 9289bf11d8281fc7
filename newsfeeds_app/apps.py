from django.apps import AppConfig


class NewsfeedsAppConfig(AppConfig):
    name = "newsfeeds_app"
    verbose_name = "News feeds"
