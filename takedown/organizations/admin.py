"""Organisations and memberships in the admin, written only through the organisations services.

Memberships are never edited in place or deleted (the audit trail names members): they are added
through the service, and removed or restored with actions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext as _

from takedown.core.admin_actor import admin_actor
from takedown.organizations import services
from takedown.organizations.models import Membership, Organization


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    fields = ("user", "role", "is_active")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# Saved through `organization_notifier_set` (audited), like the other fields through their services.
NOTIFIER_FIELDS = (
    "notice_postal_address",
    "notice_phone",
    "trusted_flagger",
    "trusted_flagger_coordinator",
    "trusted_flagger_member_state",
    "trusted_flagger_since",
)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "kind", "slug", "can_vouch_hashes", "is_active"]
    list_filter = ["kind", "can_vouch_hashes", "is_active"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Organization | None = None) -> list[str]:
        return ["slug"] if obj is not None else []  # cases and settings refer to the slug

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # cases refer to it: deactivate instead

    def save_model(self, request: HttpRequest, obj: Organization, form: ModelForm[Organization], change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = services.organization_update(
                actor=admin_actor(request),
                organization=obj,
                name=data["name"],
                kind=data["kind"],
                notice_contact_email=data.get("notice_contact_email") or "",
                is_active=data["is_active"],
            )
        else:
            saved = services.organization_create(
                actor=admin_actor(request),
                name=data["name"],
                slug=data["slug"],
                kind=data["kind"],
                notice_contact_email=data.get("notice_contact_email") or "",
            )
        obj.pk = saved.pk
        if any(field in form.changed_data for field in NOTIFIER_FIELDS):
            services.organization_notifier_set(
                actor=admin_actor(request),
                organization=saved,
                postal_address=data.get("notice_postal_address") or "",
                phone=data.get("notice_phone") or "",
                trusted_flagger=bool(data.get("trusted_flagger")),
                coordinator=data.get("trusted_flagger_coordinator") or "",
                member_state=data.get("trusted_flagger_member_state") or "",
                since=data.get("trusted_flagger_since"),
            )

        if "can_vouch_hashes" in form.changed_data:
            services.organization_vouching_set(
                actor=admin_actor(request), organization=saved, can_vouch=bool(data.get("can_vouch_hashes"))
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing to save: the memberships inline is read-only."""


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "organization", "role", "is_active"]
    list_filter = ["role", "is_active", "organization"]
    search_fields = ["user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    fields = ("user", "organization", "role")
    actions = ["deactivate", "reactivate"]

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        return ["user", "organization", "role", "is_active"] if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Membership | None = None) -> tuple[str, ...]:
        return ("user", "organization", "role", "is_active") if obj is not None else ("user", "organization", "role")

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Membership, form: ModelForm[Membership], change: bool) -> None:
        if change:
            return  # every field is read-only on an existing membership
        saved = services.membership_set(
            actor=admin_actor(request),
            user_id=form.cleaned_data["user"].pk,
            organization=form.cleaned_data["organization"],
            role=form.cleaned_data["role"],
        )
        obj.pk = saved.pk

    @admin.action(description=_("Remove access (the member no longer sees this organisation's cases)"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset:
            services.membership_set_active(actor=admin_actor(request), membership=membership, active=False)

    @admin.action(description=_("Restore access"))
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset:
            services.membership_set_active(actor=admin_actor(request), membership=membership, active=True)
