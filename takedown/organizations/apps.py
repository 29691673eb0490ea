from __future__ import annotations

from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "takedown.organizations"
    label = "organizations"
    verbose_name = "Organisations and staff"
