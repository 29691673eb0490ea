from django.apps import AppConfig


class WebConfig(AppConfig):
    """The web pages: survivors', advocates' and the platform portal. The top floor: it may import
    every app below and nothing imports it (docs/architecture.md)."""

    name = "takedown.web"
    label = "web"
    verbose_name = "Web pages"
