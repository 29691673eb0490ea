from __future__ import annotations

from django.contrib import admin

from takedown.cases.models import Case


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-mostly: sensitive fields are not shown in the admin; advocates use the staff pages."""

    list_display = ["reference", "status", "organization", "assignee", "created_at"]
    list_filter = ["status", "organization"]
    search_fields = ["reference"]
    fields = [
        "reference",
        "status",
        "organization",
        "assignee",
        "opened_by",
        "content_kind",
        "jurisdictions",
        "created_at",
    ]
    readonly_fields = ["reference", "opened_by", "content_kind", "jurisdictions", "created_at"]
