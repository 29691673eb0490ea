"""Writes for organisations and staff. Each writes its audit event in the same transaction."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import InvalidInput
from takedown.organizations.models import Membership, Organization, OrganizationKind, Role


@transaction.atomic
def organization_create(
    *, actor: Actor, name: str, slug: str, kind: str, notice_contact_email: str = ""
) -> Organization:
    if kind not in OrganizationKind.values:
        raise InvalidInput(f"Unknown organisation kind {kind!r}.")
    organization, created = Organization.objects.get_or_create(
        slug=slug, defaults={"name": name, "kind": kind, "notice_contact_email": notice_contact_email}
    )
    if created:
        audit_record(
            actor=actor,
            action="organization.created",
            subject_type="organization",
            subject_id=organization.pk,
            organization_id=organization.pk,
        )
    return organization


@transaction.atomic
def staff_create(
    *, actor: Actor, organization: Organization, email: str, password: str, role: str = Role.ADVOCATE
) -> AbstractBaseUser:
    """Create (or reuse) a staff account by email and give it a role in `organization`.

    Staff accounts exist only through this service or the admin: the public site has no sign-up.
    """
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.")
    user_model = get_user_model()
    email = user_model.objects.normalize_email(email).lower()
    user = user_model.objects.filter(email__iexact=email).first()
    if user is None:
        validate_password(password)
        user = user_model.objects.create_user(username=email, email=email, password=password)
    membership, created = Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": role, "is_active": True}
    )
    audit_record(
        actor=actor,
        action="membership.created" if created else "membership.updated",
        subject_type="membership",
        subject_id=membership.pk,
        organization_id=organization.pk,
        data={"role": role},
    )
    return user
