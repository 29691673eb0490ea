"""Reads for organisations and memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from takedown.organizations.models import Membership


def membership_organization_ids(*, user_id: int) -> list[int]:
    """The active organisations a user works for (the scope of every staff access check)."""
    return list(
        Membership.objects.filter(user_id=user_id, is_active=True, organization__is_active=True).values_list(
            "organization_id", flat=True
        )
    )


def memberships_for_user(*, user_id: int) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user_id=user_id, is_active=True, organization__is_active=True)
        .select_related("organization")
        .order_by("organization__name")
    )
