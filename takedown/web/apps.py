from django.apps import AppConfig


class WebConfig(AppConfig):
    """The web pages: survivors', advocates' and the platform portal. The top floor: it may import
    every app below and nothing imports it (docs/architecture.md)."""

    name = "takedown.web"
    label = "web"
    verbose_name = "Web pages"

    def ready(self) -> None:
        # Consumers import models, which cannot be imported while the app registry is loading.
        from takedown.web import consumers  # noqa: PLC0415

        consumers.subscribe()
