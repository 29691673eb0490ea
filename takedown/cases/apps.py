from __future__ import annotations

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "takedown.cases"
    label = "cases"
    verbose_name = "Cases"
