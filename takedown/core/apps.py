from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "takedown.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Loading the Celery app here binds @shared_task to it in every process that starts
        # Django (web, worker, beat, management commands) without importing Celery from the
        # pure libraries' parent package.
        from takedown import celery  # noqa: F401, PLC0415
