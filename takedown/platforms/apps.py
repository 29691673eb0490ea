from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    name = "takedown.platforms"
    label = "platforms"
    verbose_name = "Platform API"

    def ready(self) -> None:
        # Consumers import models, which cannot be imported while the app registry is loading.
        from takedown.platforms import consumers  # noqa: PLC0415

        consumers.subscribe()
