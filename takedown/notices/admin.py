"""The platform registry in the admin. Notices are read in the staff pages, not here.

Rows loaded from `data/platforms.yaml` are overwritten at the next `load_platforms`: lasting
changes belong in the file (it is versioned); the admin is for quick fixes and for platforms
that are not in the file yet.
"""

from __future__ import annotations

from django.contrib import admin

from takedown.notices.models import Platform, PlatformChannel, PlatformDomain


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
