"""Writes for cases. Every change writes its audit event in the same transaction.

Survivor-facing services take already-parsed values; they validate what a form cannot (bundles,
URLs, transitions) and raise `InvalidInput`/`Conflict` with a message a survivor can read.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.models import (
    Case,
    CaseNote,
    CaseStatus,
    ContactPreference,
    ContentKind,
    FaceTemplate,
    Jurisdiction,
    OpenedBy,
    RegisteredHash,
    ReportedItem,
)
from takedown.cases.urls_normalize import normalize_url, url_host
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict, InvalidInput, NotFound, RateLimited
from takedown.core.models import ActorKind, AuditEvent
from takedown.core.ratelimit import attempt_record, attempts_exceeded, attempts_reset
from takedown.hashing.bundle import Bundle, load_bundle
from takedown.hashing.errors import BundleError
from takedown.organizations.models import Organization

# Crockford's base32 without I, L, O, U: easy to read aloud and to type from paper.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_GROUPS = 4  # 4 groups x 4 characters x 5 bits = 80 random bits
PIN_DIGITS = 8
MAX_URLS_PER_REQUEST = 50
MAX_FACE_TEMPLATES_PER_CASE = 50

PIN_FAILURES_PER_REFERENCE = 5
PIN_FAILURES_PER_IP = 30
PIN_LOCKOUT_SECONDS = 15 * 60

_ACTIVE = {CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED}
_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.OPEN: {CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.WITHDRAWN},
    CaseStatus.IN_PROGRESS: {CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.WITHDRAWN},
    CaseStatus.RESOLVED: {CaseStatus.IN_PROGRESS, CaseStatus.CLOSED, CaseStatus.WITHDRAWN},
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


def parse_bundle(text: str) -> Bundle:
    """A bundle from a form field or file, with a plain error for a survivor."""
    try:
        return load_bundle(text)
    except BundleError as exc:
        raise InvalidInput(
            _("The hashes could not be read (%(reason)s). Please hash the files again.") % {"reason": exc}
        ) from exc


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
    _audit(actor, case, "case.opened", {"opened_by": case.opened_by})
    if bundle is not None:
        _add_bundle(actor=actor, case=case, bundle=bundle)
    if urls:
        _add_urls(actor=actor, case=case, urls=urls)
    return OpenedCase(case=case, pin=pin)


def _audit(actor: Actor, case: Case, action: str, data: dict[str, Any] | None = None) -> None:
    audit_record(
        actor=actor,
        action=action,
        subject_type="case",
        subject_id=case.pk,
        organization_id=case.organization_id,
        data=data,
    )


def _feed_sync(case: Case) -> None:
    """Keep the platforms' consented hash feed in step (call after any change to hashes, consent, status)."""
    from takedown.platforms.services import feed_sync_case

    feed_sync_case(case_id=case.pk)


def _require_active(case: Case) -> None:
    if not case.is_active:
        raise Conflict(_("This case is closed. Nothing can be added to it."))


def _add_face_templates(*, actor: Actor, case: Case, bundle: Bundle) -> int:
    """Store a bundle's face templates; refused unless the case's face-matching consent is on."""
    if not bundle.face_templates:
        return 0
    if not case.consent_face_matching:
        raise InvalidInput(
            _(
                "This file includes face templates. Face matching is off for your case: turn it on "
                "first on the face matching page, then add the file again."
            )
        )
    existing = set(FaceTemplate.objects.filter(case=case).values_list("template_id", flat=True))
    new = [f for f in bundle.face_templates if f.id not in existing]
    if len(existing) + len(new) > MAX_FACE_TEMPLATES_PER_CASE:
        raise InvalidInput(_("A case can hold at most %(n)d face templates.") % {"n": MAX_FACE_TEMPLATES_PER_CASE})
    FaceTemplate.objects.bulk_create(
        [FaceTemplate(case=case, template_id=f.id, model=f.model, vector=list(f.vector)) for f in new]
    )
    _audit(actor, case, "case.face_templates_added", {"templates": len(new)})
    return len(new)


@transaction.atomic
def case_add_face_templates(*, actor: Actor, case: Case, bundle: Bundle) -> int:
    """Add the face templates of a bundle (its hashes, if any, are added from the photos page)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_active(case)
    if not bundle.face_templates:
        raise InvalidInput(
            _("This file has no face templates. Make the file with the faces command (see the instructions above).")
        )
    return _add_face_templates(actor=actor, case=case, bundle=bundle)


@transaction.atomic
def case_face_matching_set(*, actor: Actor, case: Case, consent: bool) -> int:
    """Turn face matching on or off. Off deletes every face template at once; returns how many.

    Consent for face matching is separate from consent to share hashes: templates are biometric
    data, used only to compare faces found at this case's own links, never shared.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_active(case)
    deleted = 0
    if not consent:
        deleted = FaceTemplate.objects.filter(case=case).delete()[0]
    if case.consent_face_matching != consent or deleted:
        case.consent_face_matching = consent
        case.save(update_fields=["consent_face_matching", "updated_at"])
        _audit(
            actor,
            case,
            "case.face_matching_on" if consent else "case.face_matching_off",
            {"templates_deleted": deleted} if not consent else {},
        )
    return deleted


def _add_bundle(*, actor: Actor, case: Case, bundle: Bundle) -> int:
    _add_face_templates(actor=actor, case=case, bundle=bundle)
    rows = []
    for item in bundle.items:
        for h in item.hashes:
            rows.append(
                RegisteredHash(
                    case=case,
                    item_id=item.id,
                    item_kind=item.kind,
                    signal=h.signal,
                    variant=h.variant,
                    quality=h.quality,
                    value=h.value,
                    value_digest=keyed_digest(f"hash:{h.signal}", h.value),
                )
            )
    # With ignore_conflicts the database does not say which rows were new, so count around it
    # (the case row is locked by the caller, so nothing else adds hashes meanwhile).
    before = RegisteredHash.objects.filter(case=case).count()
    RegisteredHash.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    added = RegisteredHash.objects.filter(case=case).count() - before
    _audit(actor, case, "case.hashes_added", {"items": len(bundle.items), "hashes": added})
    _feed_sync(case)
    return added


@transaction.atomic
def case_add_bundle(*, actor: Actor, case: Case, bundle: Bundle) -> int:
    """Register more hashes; hashes already registered for the case are skipped."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_active(case)
    return _add_bundle(actor=actor, case=case, bundle=bundle)


def _add_urls(*, actor: Actor, case: Case, urls: Iterable[str]) -> list[ReportedItem]:
    cleaned = [u for u in (raw.strip() for raw in urls) if u]
    if len(cleaned) > MAX_URLS_PER_REQUEST:
        raise InvalidInput(_("Please add at most %(n)d links at a time.") % {"n": MAX_URLS_PER_REQUEST})
    created: list[ReportedItem] = []
    for raw in cleaned:
        url, normalized = normalize_url(raw)
        item, was_created = ReportedItem.objects.get_or_create(
            case=case,
            url_digest=keyed_digest("url", normalized),
            defaults={"url": url, "normalized_url": normalized, "host": url_host(normalized)},
        )
        if was_created:
            created.append(item)
    if created:
        # A count only: a host can name the survivor (a site set up in their name), and audit
        # events outlive a withdrawn case (tests/lifecycle/test_residue.py).
        _audit(actor, case, "case.items_reported", {"count": len(created)})
        if settings.CHECK_ON_REPORT:
            from takedown.matching.models import CheckTrigger
            from takedown.matching.services import item_check_request

            for item in created:
                item_check_request(actor=actor, item=item, trigger=CheckTrigger.REPORT)
    return created


def _check_reporting_volume(*, actor: Actor, case: Case, adding: int) -> None:
    """Cap how many links a survivor session adds to one case per day, and flag the case for review.

    A real survivor rarely has more than a few dozen links in a day; a script filing hundreds is
    more likely someone using the service to take lawful content down. Over the cap, nothing is
    added, the survivor is told plainly, and the case's advocates see it flagged (audit event
    `case.volume_capped`, listed on the review page). Staff are not capped: they file in bulk.
    """
    since = timezone.now() - timedelta(days=1)
    today = ReportedItem.objects.filter(case=case, created_at__gte=since).count()
    if today + adding <= settings.REPORTED_LINKS_PER_CASE_PER_DAY:
        return
    if not AuditEvent.objects.filter(
        action="case.volume_capped", subject_type="case", subject_id=case.pk, created_at__gte=since
    ).exists():
        _audit(actor, case, "case.volume_capped", {"today": today, "adding": adding})
    raise RateLimited(
        _(
            "You have added many links today. To keep this service safe, an advocate will look at your case "
            "first. You can add more links tomorrow, or ask your advocate to add them."
        )
    )


def case_open_allowed(*, client_ip: str) -> None:
    """Refuse a network address that opened many cases in the last hour (scripted abuse).

    Counted per keyed digest of the address (the address itself is not kept). Called by the
    report view before `case_open`; opening counts only when the case was really opened.
    """
    if attempts_exceeded(_open_key(client_ip), limit=settings.CASES_OPENED_PER_ADDRESS_PER_HOUR, window_seconds=3600):
        raise RateLimited(
            _("Many cases were opened from this network in the last hour. Please try again later, or call a helpline.")
        )


def case_open_counted(*, client_ip: str) -> None:
    attempt_record(_open_key(client_ip), window_seconds=3600)


def _open_key(client_ip: str) -> str:
    return "open:" + keyed_digest("ip", client_ip)[:32]


def case_add_urls(*, actor: Actor, case: Case, urls: Sequence[str]) -> list[ReportedItem]:
    """Report URLs; a URL already reported for the case (after normalisation) is not added twice.

    The survivor's daily volume check runs first, outside the transaction, so the flag it records
    for advocates stays even though the request is refused.
    """
    if actor.kind == ActorKind.SURVIVOR:
        _check_reporting_volume(actor=actor, case=case, adding=len([u for u in urls if u.strip()]))
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        _require_active(case)
        return _add_urls(actor=actor, case=case, urls=urls)


@transaction.atomic
def case_update_contact(*, actor: Actor, case: Case, contact_preference: str, contact_email: str = "") -> Case:
    _validate_choices(jurisdictions=(), content_kind=ContentKind.UNKNOWN, contact_preference=contact_preference)
    if contact_preference == ContactPreference.EMAIL and not contact_email:
        raise InvalidInput(_("Please give an email address, or choose another way to be contacted."))
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_active(case)
    case.contact_preference = contact_preference
    case.consent_contact = contact_preference != ContactPreference.NONE
    case.contact_details = {"email": contact_email} if contact_preference == ContactPreference.EMAIL else None
    case.save(update_fields=["contact_preference", "consent_contact", "contact_details", "updated_at"])
    _audit(actor, case, "case.contact_changed", {"preference": contact_preference})
    return case


@transaction.atomic
def case_withdraw_and_delete(*, actor: Actor, case: Case) -> None:
    """Withdraw: stop sharing at once, then delete everything the survivor gave us.

    Hashes are deleted first in the same transaction, so no share (notice, feed, lookup) can read
    them once this commits. What stays is the audit trail, which holds no sensitive value: the
    fact that a case with this internal id existed and was withdrawn.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    _case_erase(actor=actor, case=case, action="case.withdrawn")


def _case_erase(*, actor: Actor, case: Case, action: str, data: dict[str, Any] | None = None) -> None:
    """Delete a locked case and everything hanging off it; the one deletion path (withdrawal and
    the retention purge), so what one removes the other removes too."""
    hashes = RegisteredHash.objects.filter(case=case).delete()[0]
    _feed_sync(case)  # the feed's entries become tombstones in this same transaction
    FaceTemplate.objects.filter(case=case).delete()
    items = case.items.count()
    _audit(actor, case, action, {"hashes_deleted": hashes, "items_deleted": items, **(data or {})})
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
    case = Case.objects.select_for_update().get(pk=case.pk)
    previous = case.status
    _transition(case, status)
    case.save(update_fields=["status", "closed_at", "updated_at"])
    _audit(actor, case, "case.status_changed", {"from": previous, "to": status})
    _feed_sync(case)
    return case


@transaction.atomic
def case_assign(*, actor: Actor, case: Case, assignee_id: int | None) -> Case:
    """Assign to a member of the case's organisation (or unassign with None)."""
    from takedown.organizations.models import Membership

    case = Case.objects.select_for_update().get(pk=case.pk)
    if assignee_id is not None and (
        case.organization_id is None
        or not Membership.objects.filter(
            user_id=assignee_id, organization_id=case.organization_id, is_active=True
        ).exists()
    ):
        raise InvalidInput(_("That person is not a member of this case's organisation."))
    case.assignee_id = assignee_id
    case.save(update_fields=["assignee", "updated_at"])
    _audit(actor, case, "case.assigned", {"assignee_id": assignee_id})
    return case


@transaction.atomic
def case_note_add(*, actor: Actor, case: Case, body: str) -> CaseNote:
    body = body.strip()
    if not body:
        raise InvalidInput(_("The note is empty."))
    if len(body) > 10_000:
        raise InvalidInput(_("The note is too long (at most 10,000 characters)."))
    note = CaseNote.objects.create(case=case, author_id=actor.user_id, body=body)
    _audit(actor, case, "case.note_added", {"note_id": note.pk})
    return note


@lru_cache(maxsize=4)
def _dummy_pin_hash(hashers: tuple[str, ...]) -> str:
    """A hash of a random PIN with the default hasher of `hashers` (cached per configuration, so a
    change of hasher or work factor gets a new one, unlike a hash made once at import)."""
    return make_password(generate_pin())


def case_authenticate(*, reference: str, pin: str, client_ip: str) -> Case:
    """Sign a survivor in with reference and PIN.

    Wrong reference and wrong PIN give the same answer and take about as long. Failures are
    counted per reference (whether or not it exists, so lockout reveals nothing) and per IP.
    """
    normalized = normalize_reference(reference)
    ref_key = f"pin:ref:{normalized or reference.strip().upper()[:40]}"
    ip_key = f"pin:ip:{client_ip}"
    if attempts_exceeded(
        ref_key, limit=PIN_FAILURES_PER_REFERENCE, window_seconds=PIN_LOCKOUT_SECONDS
    ) or attempts_exceeded(ip_key, limit=PIN_FAILURES_PER_IP, window_seconds=PIN_LOCKOUT_SECONDS):
        raise RateLimited(_("Too many attempts. For your safety, please wait 15 minutes and try again."))
    # Only the two values the check needs, as a tuple: loading the case would decrypt its contact
    # and signature, work a missing reference never does (bench/timing_oracle.py measures it).
    found = Case.objects.filter(reference=normalized).values_list("pk", "pin_hash", "status")
    row = found.first() if normalized else None
    digits = "".join(ch for ch in pin if ch.isdigit())
    # An unknown reference checks the PIN against a dummy hash made with the hashers configured
    # now: the same call, hasher and work factor as a real case's wrong PIN (bench/timing_oracle.py).
    pin_ok = check_password(digits, row[1] if row else _dummy_pin_hash(tuple(settings.PASSWORD_HASHERS)))
    if row is None or not pin_ok or row[2] == CaseStatus.WITHDRAWN:
        attempt_record(ref_key, window_seconds=PIN_LOCKOUT_SECONDS)
        attempt_record(ip_key, window_seconds=PIN_LOCKOUT_SECONDS)
        raise NotFound(_("That reference and PIN do not match a case. Check them and try again."))
    attempts_reset(ref_key)
    case = Case.objects.get(pk=row[0])
    _audit(Actor(kind="survivor", case_id=case.pk), case, "case.survivor_signed_in")
    return case


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
    case = Case.objects.select_for_update().get(pk=case.pk)
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
    _audit(
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
