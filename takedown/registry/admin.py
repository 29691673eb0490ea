"""The platform registry in the admin, saved through the registry's services (audited).

Rows loaded from `data/platforms.yaml` are overwritten at the next `load_platforms`: lasting
changes belong in the file (it is versioned); the admin is for quick fixes and for platforms
that are not in the file yet. Platforms are deactivated, never deleted (notices refer to them).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from takedown.core.admin_actor import admin_actor
from takedown.registry import services
from takedown.registry.models import Platform, PlatformChannel, PlatformDomain


class PlatformDomainInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PlatformDomain
    extra = 1


class PlatformChannelInline(admin.StackedInline):  # type: ignore[type-arg]
    model = PlatformChannel
    extra = 0


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "stopncii_partner", "confidence", "data_version", "is_active"]
    list_filter = ["is_active", "stopncii_partner", "confidence"]
    search_fields = ["name", "slug", "domains__domain"]
    readonly_fields = ["data_version", "created_at", "updated_at"]
    inlines = [PlatformDomainInline, PlatformChannelInline]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Platform, form: ModelForm[Platform], change: bool) -> None:
        services.registry_row_save(actor=admin_actor(request), row=obj, changed=list(form.changed_data))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        actor = admin_actor(request)
        for row in formset.save(commit=False):
            services.registry_row_save(actor=actor, row=row, changed=["*"])
        for row in formset.deleted_objects:
            services.registry_row_delete(actor=actor, row=row)
