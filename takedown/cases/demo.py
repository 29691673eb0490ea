"""Demo survivor cases for the embedded default (development only): one open, one in progress.

They let a newcomer (or an outside check) try the survivor's side by hand on a fresh install:
signing in with a reference and PIN, quick exit, the lockout. The references are kept per
checkout in var/ (git-ignored); every run gives each case a new PIN through the lost-PIN service
(`case_access_recover`, as the demo advocate), because a PIN is never stored in clear and so
cannot be printed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from takedown.cases.models import Case, CaseStatus
from takedown.cases.services import case_open, case_set_status
from takedown.cases.services.signin import case_access_recover
from takedown.core.access import Actor
from takedown.core.errors import Conflict
from takedown.core.models import ActorKind
from takedown.organizations.models import Organization
from takedown.organizations.selectors import membership_organization_ids
from takedown.registry.models import Jurisdiction

#: The demo cases: a key for var/demo_cases.json, and the state each is put in.
DEMO_CASES: tuple[tuple[str, str], ...] = (("open", CaseStatus.OPEN), ("in_progress", CaseStatus.IN_PROGRESS))

#: What the demo advocate records to give a new PIN (the lost-PIN service requires two checks).
_DEMO_IDENTITY_CHECKS = ("case_reference", "known_in_person")


@dataclass(frozen=True)
class DemoCase:
    reference: str
    pin: str
    status: str

    @property
    def line(self) -> str:
        """One line, exactly as outside checks read it: `demo case: TD-... PIN 12345678 (state)`."""
        state = str(CaseStatus(self.status).label).lower()
        return f"demo case: {self.reference} PIN {self.pin} ({state})"


def _cases_file() -> Path:
    return Path(settings.VAR_DIR) / "demo_cases.json"


def _advocate_actor(*, organization: Organization, advocate_email: str) -> Actor:
    user = get_user_model().objects.get(email=advocate_email)
    return Actor(
        kind=ActorKind.STAFF,
        user_id=user.pk,
        organization_ids=frozenset(membership_organization_ids(user_id=user.pk)),
        mfa_verified=True,  # the demo advocate has TOTP enrolled (organizations.demo)
    )


def _in_state(*, actor: Actor, case: Case | None, status: str) -> Case | None:
    """The case moved to `status` through the status service, or None when it cannot be."""
    if case is None:
        return None
    try:
        if case.status == CaseStatus.CLOSED:
            case = case_set_status(actor=actor, case=case, status=CaseStatus.OPEN)
        if case.status != status:
            case = case_set_status(actor=actor, case=case, status=status)
    except Conflict:
        return None
    return case


@transaction.atomic
def demo_cases_seed(*, organization: Organization, advocate_email: str) -> list[DemoCase]:
    """Create the demo cases (or find them again) in their states, each with a new PIN."""
    advocate = _advocate_actor(organization=organization, advocate_email=advocate_email)
    path = _cases_file()
    known: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    seeded: list[DemoCase] = []
    for key, status in DEMO_CASES:
        existing = (
            Case.objects.filter(reference=known.get(key, ""), organization=organization)
            .exclude(status=CaseStatus.WITHDRAWN)
            .first()
        )
        case = _in_state(actor=advocate, case=existing, status=status)
        if case is None:  # first run, withdrawn or deleted since, or moved where it cannot come back from
            opened = case_open(
                actor=Actor(kind=ActorKind.SURVIVOR),
                signature_name=f"Demo survivor ({key.replace('_', ' ')})",
                jurisdictions=[Jurisdiction.UK],
                organization=organization,
            )
            case = _in_state(actor=advocate, case=opened.case, status=status)
            assert case is not None  # a new case is open, and open can become any demo state
        pin = case_access_recover(actor=advocate, case=case, checks=_DEMO_IDENTITY_CHECKS)
        known[key] = case.reference
        seeded.append(DemoCase(reference=case.reference, pin=pin, status=status))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known), encoding="utf-8")
    path.chmod(0o600)
    return seeded
