"""An advocate of a vetted organisation vouching for a case's hashes, as tests need it.

Since issue 14 a survivor's consent alone shares nothing: hashes reach the feed only under a
vouch (`takedown/cases/services/sharing.py`). Tests of what platforms see afterwards go through
the real service, by a real staff member of an organisation allowed to vouch.
"""

from __future__ import annotations

import secrets

from takedown.cases.models import Case, SharingVouch
from takedown.cases.services import case_sharing_vouch
from takedown.core.access import Actor
from takedown.organizations.models import Organization
from takedown.organizations.services import organization_create, organization_vouching_set, staff_create


def vetted_organization(organization: Organization | None = None) -> Organization:
    if organization is None:
        organization = organization_create(
            actor=Actor.system(), name="Vetted helpline", slug="vetted-helpline", kind="helpline"
        )
    return organization_vouching_set(actor=Actor.system(), organization=organization, can_vouch=True)


def advocate_of(organization: Organization) -> Actor:
    user = staff_create(
        actor=Actor.system(),
        organization=organization,
        email=f"advocate-{secrets.token_hex(4)}@{organization.slug}.example.org",
        password="correct horse battery staple",
    )
    return Actor(kind="staff", user_id=user.pk, organization_ids=frozenset({organization.pk}), mfa_verified=True)


def vouch_for(case: Case) -> SharingVouch:
    """The case's organisation (a vetted one is given to a case without) vouches for its hashes."""
    if case.organization is None:
        Case.objects.filter(pk=case.pk).update(organization=vetted_organization())
        case.refresh_from_db()
    assert case.organization is not None
    organization = vetted_organization(case.organization)
    return case_sharing_vouch(actor=advocate_of(organization), case=case)
