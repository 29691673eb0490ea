"""Cases in the admin: read-only; status changes through actions that call the cases services.

Sensitive fields are not shown at all; advocates work cases in the staff pages. Closing or
reopening here goes through `case_set_status`, exactly as from the case page: audited, and the
platforms' feed kept in step (a closed case's hashes become tombstones).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from takedown.cases import services
from takedown.cases.models import Case, CaseStatus
from takedown.core.admin_actor import admin_actor
from takedown.core.errors import Conflict


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["reference", "status", "organization", "assignee", "created_at"]
    list_filter = ["status", "organization"]
    search_fields = ["reference"]
    fields = (
        "reference",
        "status",
        "organization",
        "assignee",
        "opened_by",
        "content_kind",
        "jurisdictions",
        "consent_share_hashes",
        "created_at",
    )
    readonly_fields = fields
    actions = ["close_cases", "reopen_cases"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # survivors and advocates open cases through the pages

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # withdrawal is the survivor's; closed cases are purged after retention

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Case], status: str) -> None:
        done = 0
        for case in queryset:
            try:
                services.case_set_status(actor=admin_actor(request), case=case, status=status)
                done += 1
            except Conflict as exc:
                self.message_user(request, f"{case}: {exc.message}", messages.ERROR)
        self.message_user(request, _("%(n)d case(s) updated.") % {"n": done})

    @admin.action(description=_("Close the selected cases (stops sharing their hashes)"))
    def close_cases(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        self._set_status(request, queryset, CaseStatus.CLOSED)

    @admin.action(description=_("Reopen the selected cases"))
    def reopen_cases(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        self._set_status(request, queryset, CaseStatus.OPEN)
