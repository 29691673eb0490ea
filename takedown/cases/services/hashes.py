"""Writes for what a survivor registers: photo fingerprints (hash bundles), face templates, sharing.

Registered hashes are kept in step with the platforms' feed in the same transaction
(`cases.feed`): registering, turning sharing off and on, and withdrawal all change the feed
before they commit.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.feed import feed_sync_case
from takedown.cases.models import Case, FaceTemplate, RegisteredHash
from takedown.cases.services._base import case_audit, lock_case, require_active
from takedown.core.access import Actor
from takedown.core.errors import InvalidInput
from takedown.hashing.bundle import Bundle, load_bundle
from takedown.hashing.errors import BundleError

MAX_FACE_TEMPLATES_PER_CASE = 50


def parse_bundle(text: str) -> Bundle:
    """A bundle from a form field or file, with a plain error for a survivor."""
    try:
        return load_bundle(text)
    except BundleError as exc:
        raise InvalidInput(
            _("The hashes could not be read (%(reason)s). Please hash the files again.") % {"reason": exc}
        ) from exc


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
    case_audit(actor, case, "case.face_templates_added", {"templates": len(new)})
    return len(new)


@transaction.atomic
def case_add_face_templates(*, actor: Actor, case: Case, bundle: Bundle) -> int:
    """Add the face templates of a bundle (its hashes, if any, are added from the photos page)."""
    case = lock_case(case.pk)
    require_active(case)
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
    case = lock_case(case.pk)
    require_active(case)
    deleted = 0
    if not consent:
        deleted = FaceTemplate.objects.filter(case=case).delete()[0]
    if case.consent_face_matching != consent or deleted:
        case.consent_face_matching = consent
        case.save(update_fields=["consent_face_matching", "updated_at"])
        case_audit(
            actor,
            case,
            "case.face_matching_on" if consent else "case.face_matching_off",
            {"templates_deleted": deleted} if not consent else {},
        )
    return deleted


def add_bundle(*, actor: Actor, case: Case, bundle: Bundle) -> int:
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
    case_audit(actor, case, "case.hashes_added", {"items": len(bundle.items), "hashes": added})
    feed_sync_case(case_id=case.pk)
    return added


@transaction.atomic
def case_add_bundle(*, actor: Actor, case: Case, bundle: Bundle) -> int:
    """Register more hashes; hashes already registered for the case are skipped."""
    case = lock_case(case.pk)
    require_active(case)
    return add_bundle(actor=actor, case=case, bundle=bundle)


@transaction.atomic
def case_face_matching_enable(*, actor: Actor, case: Case, bundle: Bundle) -> int:
    """Turn face matching on and add a bundle's face templates, in one step (one consent, one file)."""
    case_face_matching_set(actor=actor, case=case, consent=True)
    return case_add_face_templates(actor=actor, case=case, bundle=bundle)


@transaction.atomic
def case_sharing_set(*, actor: Actor, case: Case, share: bool) -> int:
    """Start or stop sharing the case's photo fingerprints with platforms; returns feed entries changed.

    Stopping writes tombstones to the feed at once, so platforms that copied the hashes learn to
    delete them at their next fetch, and lookups stop answering within the bank's refresh bound.
    Starting again shares the same hashes (platforms see the same opaque ids become active again).
    The hashes themselves stay registered: matching against the survivor's own links goes on.
    """
    case = lock_case(case.pk)
    require_active(case)
    if case.consent_share_hashes == share:
        return 0
    case.consent_share_hashes = share
    case.save(update_fields=["consent_share_hashes", "updated_at"])
    changed = feed_sync_case(case_id=case.pk)
    case_audit(actor, case, "case.sharing_on" if share else "case.sharing_off", {"feed_entries": changed})
    return changed
