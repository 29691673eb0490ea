"""Writes for what a survivor registers: photo fingerprints (hash bundles), face templates, sharing.

Registered hashes are kept in step with the platforms' feed in the same transaction
(`cases.feed`): registering, turning sharing off and on, and withdrawal all change the feed
before they commit. Registering never shares by itself: a hash reaches the feed only once an
advocate has vouched for it (`services.sharing`). Bundles are held to hard caps per file, per
case and per day; a day with many files holds the case's sharing for an advocate's review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
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


class HashesRefused(InvalidInput):
    """A bundle over a hard cap: nothing of it is added. `reason` and `hashes` go to the audit."""

    def __init__(self, message: str, *, reason: str, hashes: int) -> None:
        super().__init__(message, code="hashes_refused")
        self.reason = reason
        self.hashes = hashes


@dataclass(frozen=True)
class BundleVolume:
    new_files: int
    new_hashes: int
    files_today: int  # including the new ones
    hold: bool  # over SHARING_HOLD_FILES_PER_DAY: sharing waits for an advocate


def _bundle_volume(*, case: Case | None, bundle: Bundle) -> BundleVolume:
    """Check a bundle against the caps (raises `HashesRefused`, nothing added) and measure it.

    The caps bound what one anonymous person can put into the service: hashes per file (a
    picture gives a few dozen, a video one per sampled frame), files and hashes per case, files per
    case per day. They are far above what a survivor has, and each refusal says what to do.
    """
    total = sum(len(item.hashes) for item in bundle.items)
    for item in bundle.items:
        video = item.kind == "video"
        limit = int(settings.HASHES_PER_VIDEO_MAX if video else settings.HASHES_PER_IMAGE_MAX)
        if len(item.hashes) > limit:
            raise HashesRefused(
                (
                    _(
                        "One video in this file has %(count)d fingerprints; at most %(limit)d are accepted per "
                        "video. Please cut a long video into parts, or ask an advocate to help."
                    )
                    if video
                    else _(
                        "One picture in this file has %(count)d fingerprints; at most %(limit)d are accepted per "
                        "picture. Please make the file again with the Takedown hashing page or tool."
                    )
                )
                % {"count": len(item.hashes), "limit": limit},
                reason="per_video" if video else "per_image",
                hashes=total,
            )
    known: set[str] = set()
    hashes_before = files_today = 0
    if case is not None:
        rows = RegisteredHash.objects.filter(case=case)
        known = set(rows.values_list("item_id", flat=True).distinct())
        hashes_before = rows.count()
        since = timezone.now() - timedelta(days=1)
        files_today = rows.filter(created_at__gte=since).values("item_id").distinct().count()
    new = [item for item in bundle.items if item.id not in known]
    new_hashes = sum(len(item.hashes) for item in new)
    if len(known) + len(new) > settings.FILES_PER_CASE_MAX:
        raise HashesRefused(
            _("A case can hold fingerprints of at most %(limit)d files; this would make %(count)d.")
            % {"limit": settings.FILES_PER_CASE_MAX, "count": len(known) + len(new)},
            reason="files_per_case",
            hashes=total,
        )
    if hashes_before + new_hashes > settings.HASHES_PER_CASE_MAX:
        raise HashesRefused(
            _("A case can hold at most %(limit)d fingerprints; this would make %(count)d.")
            % {"limit": settings.HASHES_PER_CASE_MAX, "count": hashes_before + new_hashes},
            reason="hashes_per_case",
            hashes=total,
        )
    if files_today + len(new) > settings.FILES_PER_CASE_PER_DAY:
        raise HashesRefused(
            _(
                "You have added many files today (at most %(limit)d a day). To keep this service safe, please "
                "add the rest tomorrow, or ask your advocate to help."
            )
            % {"limit": settings.FILES_PER_CASE_PER_DAY},
            reason="files_per_day",
            hashes=total,
        )
    return BundleVolume(
        new_files=len(new),
        new_hashes=new_hashes,
        files_today=files_today + len(new),
        hold=bool(new) and files_today + len(new) > settings.SHARING_HOLD_FILES_PER_DAY,
    )


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
    """Register a bundle's hashes on a locked case, within the caps; none is shared by this."""
    volume = _bundle_volume(case=case, bundle=bundle)
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
    if volume.hold and case.sharing_held_at is None:
        # More files in a day than a survivor plausibly has: nothing of the case goes to platforms
        # (what was shared is withdrawn) until an advocate has looked at it and vouched again.
        case.sharing_held_at = timezone.now()
        case.save(update_fields=["sharing_held_at", "updated_at"])
        case_audit(actor, case, "case.sharing_held", {"today": volume.files_today})
    feed_sync_case(case_id=case.pk)
    return added


def case_add_bundle(*, actor: Actor, case: Case, bundle: Bundle) -> int:
    """Register more hashes; hashes already registered for the case are skipped.

    Over a cap nothing is added and the refusal is recorded for the case's advocates (in a
    transaction of its own, so it stays although the request is refused).
    """
    try:
        with transaction.atomic():
            case = lock_case(case.pk)
            require_active(case)
            return add_bundle(actor=actor, case=case, bundle=bundle)
    except HashesRefused as refused:
        with transaction.atomic():
            case_audit(actor, case, "case.hashes_refused", {"reason": refused.reason, "hashes": refused.hashes})
        raise


@transaction.atomic
def case_face_matching_enable(*, actor: Actor, case: Case, bundle: Bundle) -> int:
    """Turn face matching on and add a bundle's face templates, in one step (one consent, one file)."""
    case_face_matching_set(actor=actor, case=case, consent=True)
    return case_add_face_templates(actor=actor, case=case, bundle=bundle)


@transaction.atomic
def case_sharing_set(*, actor: Actor, case: Case, share: bool) -> int:
    """The survivor's consent to share their photo fingerprints with platforms; returns feed entries changed.

    Consent is necessary, never enough: only hashes an advocate vouched for go to the feed
    (`services.sharing`). Stopping writes tombstones to the feed at once, so platforms that copied
    the hashes learn to delete them at their next fetch, and lookups stop answering within the
    bank's refresh bound. Starting again shares the same vouched hashes (platforms see the same
    opaque ids become active again).
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
