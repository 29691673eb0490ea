from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    name = "takedown.platforms"
    label = "platforms"
    verbose_name = "Platform API"
