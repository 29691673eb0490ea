from __future__ import annotations

from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "takedown.matching"
    label = "matching"
    verbose_name = "Checking and matching"
