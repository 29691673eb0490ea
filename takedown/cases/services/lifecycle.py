"""Writes for a case's life: opening, contact and details, assignment, status, withdrawal, retention.

Every change writes its audit event in the same transaction. Survivor-facing services take
already-parsed values; they validate what a form cannot (bundles, URLs, transitions) and raise
`InvalidInput`/`Conflict` with a message a survivor can read.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.feed import feed_orphan_case, feed_sync_case, feed_withdraw_case
from takedown.cases.models import (
    Case,
    CaseNote,
    CaseStatus,
    ContactPreference,
    FaceTemplate,
    OpenedBy,
    RegisteredHash,
)
from takedown.cases.services._base import case_audit, lock_case, require_active
from takedown.cases.services.hashes import add_bundle
from takedown.cases.services.items import add_urls
from takedown.core.access import Actor
from takedown.core.errors import Conflict, InvalidInput
from takedown.core.models import ActorKind
from takedown.core.queue import task_on_commit
from takedown.hashing.bundle import Bundle
from takedown.organizations.models import Membership, Organization
from takedown.registry.models import ContentKind, Jurisdiction

# Crockford's base32 without I, L, O, U: easy to read aloud and to type from paper.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

REFERENCE_GROUPS = 4  # 4 groups x 4 characters x 5 bits = 80 random bits

PIN_DIGITS = 8

#: What staff (and the system) may move a case to. Withdrawal is not here: it is the survivor's
#: (or an advocate's on their recorded instruction) through `case_withdraw_and_delete`, which
#: deletes everything the lifecycle promises; a case never merely "becomes" withdrawn.
_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.OPEN: {CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.CLOSED},
    CaseStatus.IN_PROGRESS: {CaseStatus.RESOLVED, CaseStatus.CLOSED},
    CaseStatus.RESOLVED: {CaseStatus.IN_PROGRESS, CaseStatus.CLOSED},
    CaseStatus.CLOSED: {CaseStatus.OPEN},
    CaseStatus.WITHDRAWN: set(),
}


def generate_reference() -> str:
    groups = ["".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(4)) for _ in range(REFERENCE_GROUPS)]
    return "TD-" + "-".join(groups)


def normalize_reference(raw: str) -> str:
    """Accept what people type: any case, spaces or no dashes, O for 0, I/L for 1."""
    cleaned = "".join(ch for ch in raw.upper() if ch.isalnum())
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    if cleaned.startswith("TD"):
        cleaned = cleaned[2:]
    if len(cleaned) != 4 * REFERENCE_GROUPS:
        return ""
    return "TD-" + "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


def generate_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


def _intake_organization() -> Organization | None:
    slug = settings.INTAKE_ORGANIZATION_SLUG
    if not slug:
        return None
    return Organization.objects.filter(slug=slug, is_active=True).first()


@dataclass(frozen=True)
class OpenedCase:
    case: Case
    pin: str  # shown once to the survivor, never stored in clear


def _validate_choices(*, jurisdictions: Sequence[str], content_kind: str, contact_preference: str) -> None:
    if any(j not in Jurisdiction.values for j in jurisdictions):
        raise InvalidInput(_("Unknown country or region."))
    if content_kind not in ContentKind.values:
        raise InvalidInput(_("Unknown kind of content."))
    if contact_preference not in ContactPreference.values:
        raise InvalidInput(_("Unknown contact preference."))


@transaction.atomic
def case_open(
    *,
    actor: Actor,
    signature_name: str,
    jurisdictions: Sequence[str] = (),
    content_kind: str = ContentKind.UNKNOWN,
    consent_share_hashes: bool = False,
    consent_face_matching: bool = False,
    contact_preference: str = ContactPreference.NONE,
    contact_email: str = "",
    bundle: Bundle | None = None,
    urls: Sequence[str] = (),
    risk_sextortion: bool = False,
    risk_doxxing: bool = False,
    risk_physical_danger: bool = False,
    organization: Organization | None = None,
    representative: dict[str, Any] | None = None,
) -> OpenedCase:
    """Open a case for a survivor (or, with `representative`, on their behalf by an advocate)."""
    _validate_choices(jurisdictions=jurisdictions, content_kind=content_kind, contact_preference=contact_preference)
    if not signature_name.strip():
        raise InvalidInput(_("Please type your name to sign."))
    if contact_preference == ContactPreference.EMAIL and not contact_email:
        raise InvalidInput(_("Please give an email address, or choose another way to be contacted."))
    if representative is not None and organization is None:
        raise InvalidInput(_("A representative files for an organisation."))
    if bundle is not None and bundle.face_templates and not consent_face_matching:
        raise InvalidInput(
            _(
                "This file includes face templates. Start without them: once your case is open, you "
                "can read about face matching and add them from your case page."
            )
        )
    pin = generate_pin()
    contact = {"email": contact_email} if contact_preference == ContactPreference.EMAIL else None
    for _attempt in range(5):  # a reference collision at 80 bits is astronomically rare; retry anyway
        try:
            with transaction.atomic():
                case = Case.objects.create(
                    reference=generate_reference(),
                    pin_hash=make_password(pin),
                    organization=organization or _intake_organization(),
                    opened_by=OpenedBy.REPRESENTATIVE if representative else OpenedBy.SURVIVOR,
                    jurisdictions=sorted(set(jurisdictions)),
                    content_kind=content_kind,
                    consent_share_hashes=consent_share_hashes,
                    consent_face_matching=consent_face_matching,
                    consent_contact=contact_preference != ContactPreference.NONE,
                    contact_preference=contact_preference,
                    contact_details=contact,
                    representative=representative,
                    signature_name=signature_name.strip(),
                    signed_at=timezone.now(),
                    risk_sextortion=risk_sextortion,
                    risk_doxxing=risk_doxxing,
                    risk_physical_danger=risk_physical_danger,
                )
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - would need five 80-bit collisions in a row
        raise Conflict(_("Please try again."))
    case_audit(actor, case, "case.opened", {"opened_by": case.opened_by})
    if bundle is not None:
        add_bundle(actor=actor, case=case, bundle=bundle)
    if urls:
        add_urls(actor=actor, case=case, urls=urls)
    return OpenedCase(case=case, pin=pin)


@transaction.atomic
def case_update_contact(*, actor: Actor, case: Case, contact_preference: str, contact_email: str = "") -> Case:
    _validate_choices(jurisdictions=(), content_kind=ContentKind.UNKNOWN, contact_preference=contact_preference)
    if contact_preference == ContactPreference.EMAIL and not contact_email:
        raise InvalidInput(_("Please give an email address, or choose another way to be contacted."))
    case = lock_case(case.pk)
    require_active(case)
    case.contact_preference = contact_preference
    case.consent_contact = contact_preference != ContactPreference.NONE
    case.contact_details = {"email": contact_email} if contact_preference == ContactPreference.EMAIL else None
    case.save(update_fields=["contact_preference", "consent_contact", "contact_details", "updated_at"])
    case_audit(actor, case, "case.contact_changed", {"preference": contact_preference})
    return case


#: The task that deletes a withdrawn case's rows (named here: services never import tasks).
ERASE_TASK = "takedown.cases.tasks.erase_withdrawn_case"


def case_withdraw_and_delete(*, actor: Actor, case: Case, survivor_instructed: bool = False) -> None:
    """Withdraw: stop sharing and end access at once, then delete everything the survivor gave us.

    The survivor withdraws from their case page; an advocate may do it for them only on their
    instruction, which the advocate confirms (`survivor_instructed`) and the audit trail records.
    The request does only what must hold the moment it returns, in a few statements whatever the
    case's size: every feed entry becomes a tombstone in one UPDATE (no platform, lookup or
    cross-case match reads the hashes after commit), the case becomes withdrawn (no sign-in, no
    page, no notice delivery reaches it), its own sensitive fields and its face templates are
    deleted. The rows (hashes,
    links, checks, evidence, notices) are deleted by `erase_withdrawn_case`, started on commit;
    the beat sweep `erase_withdrawn_cases` deletes any a lost task left. What stays is the audit
    trail, which holds no sensitive value: the fact that a case with this internal id existed
    and was withdrawn.
    """
    if actor.kind == ActorKind.STAFF and not survivor_instructed:
        raise Conflict(_("Only the survivor can withdraw a case, or an advocate on their recorded instruction."))
    if actor.kind not in {ActorKind.SURVIVOR, ActorKind.STAFF}:
        raise Conflict(_("Only the survivor can withdraw a case, or an advocate on their recorded instruction."))
    with transaction.atomic():
        case = lock_case(case.pk)
        if case.status == CaseStatus.WITHDRAWN:
            return  # withdrawn already (a second click): the erasure is on its way
        by = "survivor" if actor.kind == ActorKind.SURVIVOR else "advocate_on_instruction"
        entries = feed_withdraw_case(case_id=case.pk)
        FaceTemplate.objects.filter(case=case).delete()  # biometric data, at most 50 rows: at once
        now = timezone.now()
        Case.objects.filter(pk=case.pk).update(
            status=CaseStatus.WITHDRAWN,
            withdrawn_at=now,
            pin_hash="!",  # no PIN can match (Django's unusable-password marker)
            consent_share_hashes=False,
            consent_face_matching=False,
            contact_details=None,
            representative=None,
            signature_name=None,
            police_reference=None,
            hash_service_reference=None,
            updated_at=now,
        )
        case_audit(actor, case, "case.withdrawn", {"by": by, "feed_entries": entries})
        task_on_commit(ERASE_TASK, case.pk)


def case_erase_withdrawn(*, case_id: int) -> bool:
    """Delete a withdrawn case's rows (the task after withdrawal); False if there is nothing to do.

    Idempotent: the case is locked and re-checked, so the task, a redelivery and the sweep can
    all run it.
    """
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(pk=case_id, status=CaseStatus.WITHDRAWN)
            .first()
        )
        if case is None:
            return False
        feed_orphan_case(case_id=case.pk)  # tombstones already announced at withdrawal
        _case_erase(actor=Actor.system(), case=case, action="case.erased")
    return True


def cases_erase_withdrawn(*, older_than_seconds: int = 60, limit: int = 100) -> int:
    """The sweep: erase withdrawn cases whose task was lost (broker down, worker killed)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = Case.objects.filter(status=CaseStatus.WITHDRAWN, withdrawn_at__lt=cutoff).order_by("withdrawn_at")
    return sum(case_erase_withdrawn(case_id=pk) for pk in list(pending.values_list("pk", flat=True)[:limit]))


def _case_erase(*, actor: Actor, case: Case, action: str, data: dict[str, Any] | None = None) -> None:
    """Delete a locked case and everything hanging off it; the one deletion path (withdrawal and
    the retention purge), so what one removes the other removes too."""
    hashes = RegisteredHash.objects.filter(case=case).delete()[0]
    feed_sync_case(case_id=case.pk)  # the feed's entries become tombstones in this same transaction
    FaceTemplate.objects.filter(case=case).delete()
    items = case.items.count()
    case_audit(actor, case, action, {"hashes_deleted": hashes, "items_deleted": items, **(data or {})})
    case.delete()


def _transition(case: Case, to: str) -> None:
    if to not in _TRANSITIONS[case.status]:
        raise Conflict(
            _("A case that is %(from)s cannot become %(to)s.")
            % {"from": CaseStatus(case.status).label, "to": CaseStatus(to).label}
        )
    case.status = to
    if to == CaseStatus.CLOSED:
        case.closed_at = timezone.now()
    elif to == CaseStatus.OPEN:
        case.closed_at = None


@transaction.atomic
def case_set_status(*, actor: Actor, case: Case, status: str) -> Case:
    case = lock_case(case.pk)
    previous = case.status
    _transition(case, status)
    case.save(update_fields=["status", "closed_at", "updated_at"])
    case_audit(actor, case, "case.status_changed", {"from": previous, "to": status})
    feed_sync_case(case_id=case.pk)
    return case


@transaction.atomic
def case_assign(*, actor: Actor, case: Case, assignee_id: int | None) -> Case:
    """Assign to a member of the case's organisation (or unassign with None)."""
    case = lock_case(case.pk)
    if assignee_id is not None and (
        case.organization_id is None
        or not Membership.objects.filter(
            user_id=assignee_id, organization_id=case.organization_id, is_active=True
        ).exists()
    ):
        raise InvalidInput(_("That person is not a member of this case's organisation."))
    case.assignee_id = assignee_id
    case.save(update_fields=["assignee", "updated_at"])
    case_audit(actor, case, "case.assigned", {"assignee_id": assignee_id})
    return case


@transaction.atomic
def case_note_add(*, actor: Actor, case: Case, body: str) -> CaseNote:
    body = body.strip()
    if not body:
        raise InvalidInput(_("The note is empty."))
    if len(body) > 10_000:
        raise InvalidInput(_("The note is too long (at most 10,000 characters)."))
    note = CaseNote.objects.create(case=case, author_id=actor.user_id, body=body)
    case_audit(actor, case, "case.note_added", {"note_id": note.pk})
    return note


@transaction.atomic
def case_update_details(
    *,
    actor: Actor,
    case: Case,
    police_reference: str,
    hash_service_reference: str,
    risk_sextortion: bool,
    risk_doxxing: bool,
    risk_physical_danger: bool,
) -> Case:
    """Staff record the police and StopNCII/Take It Down references and the risk flags."""
    case = lock_case(case.pk)
    case.police_reference = police_reference.strip() or None
    case.hash_service_reference = hash_service_reference.strip() or None
    case.risk_sextortion = risk_sextortion
    case.risk_doxxing = risk_doxxing
    case.risk_physical_danger = risk_physical_danger
    case.save(
        update_fields=[
            "police_reference",
            "hash_service_reference",
            "risk_sextortion",
            "risk_doxxing",
            "risk_physical_danger",
            "updated_at",
        ]
    )
    case_audit(
        actor,
        case,
        "case.details_changed",
        {"risks": [name for name in ("sextortion", "doxxing", "physical_danger") if getattr(case, f"risk_{name}")]},
    )
    return case


def cases_purge_expired(*, now: datetime | None = None, limit: int = 500) -> int:
    """Delete closed cases whose retention period (settings.CASE_RETENTION_DAYS after closing) ended.

    A closed case is kept that long so the survivor or the advocate can reopen it if the content
    comes back; after that nothing of it is kept but the audit trail's non-identifying events, as
    for a withdrawal. Each case is locked and re-checked in its own transaction (a case reopened
    meanwhile is skipped), so the beat task and the command can run at any time, repeatedly.
    Returns how many cases were deleted; `limit` bounds one run (the next run continues).
    """
    days = int(settings.CASE_RETENTION_DAYS)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    expired = Case.objects.filter(status=CaseStatus.CLOSED, closed_at__lt=cutoff).order_by("closed_at", "pk")
    purged = 0
    for case_id in list(expired.values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            case = Case.objects.select_for_update().filter(pk=case_id, status=CaseStatus.CLOSED).first()
            if case is None or case.closed_at is None or case.closed_at >= cutoff:
                continue
            _case_erase(actor=Actor.system(), case=case, action="case.purged", data={"retention_days": days})
            purged += 1
    return purged


@transaction.atomic
def case_next_deadline_set(*, case_id: int, next_deadline_at: datetime | None) -> None:
    """The earliest open deadline among the case's notices (kept by the notices app through this).

    Denormalised onto the case for the caseload's due-soon and overdue filters; the notices app,
    which owns deadlines, calls this after every change to one (the case row is locked first).
    """
    case = lock_case(case_id)
    if case.next_deadline_at != next_deadline_at:
        case.next_deadline_at = next_deadline_at
        case.save(update_fields=["next_deadline_at", "updated_at"])
