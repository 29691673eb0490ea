from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """Models used only to test the shared kernel (encrypted fields, idempotent tasks)."""

    name = "tests.core.testapp"
    label = "testapp"
