from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "takedown.demo"
    label = "demo"
    verbose_name = "Demo data (development only)"
