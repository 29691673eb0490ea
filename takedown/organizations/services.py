"""Writes for organisations and staff. Each writes its audit event in the same transaction."""

from __future__ import annotations

from datetime import date

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


@transaction.atomic
def organization_update(
    *, actor: Actor, organization: Organization, name: str, kind: str, notice_contact_email: str, is_active: bool
) -> Organization:
    """Change an organisation's name, kind, notice address or whether it is active (the admin's form)."""
    if kind not in OrganizationKind.values:
        raise InvalidInput(f"Unknown organisation kind {kind!r}.")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    values = {"name": name, "kind": kind, "notice_contact_email": notice_contact_email, "is_active": is_active}
    changed = [field for field, value in values.items() if getattr(organization, field) != value]
    if not changed:
        return organization
    for field in changed:
        setattr(organization, field, values[field])
    organization.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor=actor,
        action="organization.updated",
        subject_type="organization",
        subject_id=organization.pk,
        organization_id=organization.pk,
        data={"changed": changed},
    )
    return organization


@transaction.atomic
def membership_set(*, actor: Actor, user_id: int, organization: Organization, role: str) -> Membership:
    """Give an existing staff account a role in `organization` (active), or change its role there."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.")
    membership, created = Membership.objects.update_or_create(
        user_id=user_id, organization=organization, defaults={"role": role, "is_active": True}
    )
    audit_record(
        actor=actor,
        action="membership.created" if created else "membership.updated",
        subject_type="membership",
        subject_id=membership.pk,
        organization_id=organization.pk,
        data={"role": role},
    )
    return membership


@transaction.atomic
def membership_set_active(*, actor: Actor, membership: Membership, active: bool) -> Membership:
    """Remove a staff member's access to an organisation's cases (or restore it); rows are never deleted,
    so the audit trail keeps naming who did what."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.is_active != active:
        membership.is_active = active
        membership.save(update_fields=["is_active", "updated_at"])
        audit_record(
            actor=actor,
            action="membership.activated" if active else "membership.deactivated",
            subject_type="membership",
            subject_id=membership.pk,
            organization_id=membership.organization_id,
        )
    return membership


@transaction.atomic
def organization_notifier_set(
    *,
    actor: Actor,
    organization: Organization,
    postal_address: str,
    phone: str,
    trusted_flagger: bool,
    coordinator: str = "",
    member_state: str = "",
    since: date | None = None,
) -> Organization:
    """How the organisation appears as the sender of notices: its address and telephone (copyright
    notices are filed in its name), and its DSA trusted-flagger status with the Digital Services
    Coordinator that awarded it (Art. 22: only entities established in the EU can be designated)."""
    coordinator, member_state = coordinator.strip(), member_state.strip().upper()
    if trusted_flagger and (not coordinator or len(member_state) != 2):
        raise InvalidInput(
            "A trusted flagger needs the designating Digital Services Coordinator and the Member State where "
            "the organisation is established."
        )
    if not trusted_flagger:
        coordinator, member_state, since = "", "", None
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    values = {
        "notice_postal_address": postal_address.strip(),
        "notice_phone": phone.strip(),
        "trusted_flagger": trusted_flagger,
        "trusted_flagger_coordinator": coordinator,
        "trusted_flagger_member_state": member_state,
        "trusted_flagger_since": since,
    }
    changed = [field for field, value in values.items() if getattr(organization, field) != value]
    if not changed:
        return organization
    for field in changed:
        setattr(organization, field, values[field])
    organization.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor=actor,
        action="organization.notifier_changed",
        subject_type="organization",
        subject_id=organization.pk,
        organization_id=organization.pk,
        data={"changed": changed, "trusted_flagger": trusted_flagger},
    )
    return organization


@transaction.atomic
def organization_vouching_set(*, actor: Actor, organization: Organization, can_vouch: bool) -> Organization:
    """Allow (or stop) an organisation's advocates vouching for hashes that go to platforms.

    Only the operator does this (the admin), and only for organisations it has vetted: a vouch
    puts a case's hashes in the feed platforms use to block uploads (docs/threat-model.md).
    """
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.can_vouch_hashes == can_vouch:
        return organization
    organization.can_vouch_hashes = can_vouch
    organization.save(update_fields=["can_vouch_hashes", "updated_at"])
    audit_record(
        actor=actor,
        action="organization.vouching_changed",
        subject_type="organization",
        subject_id=organization.pk,
        organization_id=organization.pk,
        data={"can_vouch": can_vouch},
    )
    return organization
