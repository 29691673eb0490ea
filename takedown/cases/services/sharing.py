"""Vouching: the only way a case's hashes reach platforms (docs/threat-model.md, "Feed integrity").

The service cannot know that a bundle's hashes come from the survivor's own pictures: anyone can
open a case, tick "share", and post hashes of lawful pictures, which platforms would then block.
So a survivor's consent is necessary but never enough. A hash goes to the feed only under a
`SharingVouch` by an advocate of an organisation the operator vetted (`can_vouch_hashes`):

- `case_sharing_vouch`: the advocate reviewed the case (the request, the links and the matches
  found, the volume of files; never the pictures) and vouches for every hash registered so far.
  This also releases a case held for its volume.
- `case_sharing_vouch_match`: the advocate confirmed a check's match on a reported link and
  vouches for that one picture's hashes (the picture is published where the survivor said).

Each vouch records the person, the organisation and what it covered; each shared hash and feed
entry points at its vouch. Hashes added later wait for another vouch.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from takedown.cases.feed import feed_sync_case
from takedown.cases.models import (
    Case,
    FeedEntry,
    FeedStatus,
    ItemStatus,
    RegisteredHash,
    ReportedItem,
    SharingVouch,
    VouchKind,
)
from takedown.cases.services._base import case_audit, lock_case, require_active
from takedown.core.access import Actor
from takedown.core.errors import Conflict
from takedown.core.models import ActorKind
from takedown.organizations.models import Membership, Organization

#: Links whose check found the survivor's content (or a person confirmed it): "matches found".
MATCHED_STATUSES = (ItemStatus.LIVE, ItemStatus.REMOVED)


def _vouching_organization(actor: Actor, case: Case) -> Organization:
    """The case's organisation, if the actor is an active member and it may vouch; else Conflict."""
    refused = Conflict(
        _(
            "Only an advocate of a vetted organisation can vouch for photo fingerprints shared with platforms. "
            "Ask your organisation's administrator."
        )
    )
    organization = case.organization
    if (
        actor.kind != ActorKind.STAFF
        or not actor.mfa_verified
        or actor.user_id is None
        or organization is None
        or organization.pk not in actor.organization_ids
        or not organization.is_active
        or not organization.can_vouch_hashes
    ):
        raise refused
    if not Membership.objects.filter(user_id=actor.user_id, organization=organization, is_active=True).exists():
        raise refused
    return organization


def _require_consent(case: Case) -> None:
    if not case.consent_share_hashes:
        raise Conflict(_("The survivor has not agreed to share their photo fingerprints with platforms."))


@transaction.atomic
def case_sharing_vouch(*, actor: Actor, case: Case) -> SharingVouch:
    """An advocate vouches for the case's hashes not yet vouched for; they enter the feed now.

    The advocate has seen the review summary (`selectors.case_sharing_review`): files and hashes,
    files added in the last day, links reported and links where a match was found. A hold for
    volume is released by the same act, since the advocate has just looked at the volume.
    """
    case = lock_case(case.pk)
    require_active(case)
    organization = _vouching_organization(actor, case)
    _require_consent(case)
    pending = RegisteredHash.objects.filter(case=case, vouch__isnull=True)
    hashes = pending.count()
    held = case.sharing_held_at is not None
    if not hashes and not held:
        raise Conflict(_("There are no new photo fingerprints to vouch for in this case."))
    assert actor.user_id is not None  # checked by _vouching_organization
    vouch = SharingVouch.objects.create(
        case=case,
        kind=VouchKind.ADVOCATE,
        user_id=actor.user_id,
        organization=organization,
        files=pending.values("item_id").distinct().count(),
        hashes=hashes,
        links=case.items.count(),
        links_matched=case.items.filter(status__in=MATCHED_STATUSES).count(),
    )
    pending.update(vouch=vouch)
    if held:
        case.sharing_held_at = None
        case.save(update_fields=["sharing_held_at", "updated_at"])
    changed = feed_sync_case(case_id=case.pk)
    case_audit(
        actor,
        case,
        "case.sharing_vouched",
        {
            "vouch_id": vouch.pk,
            "files": vouch.files,
            "hashes": vouch.hashes,
            "links_matched": vouch.links_matched,
            "held_cleared": held,
            "feed_entries": changed,
        },
    )
    return vouch


@transaction.atomic
def case_sharing_vouch_match(
    *, actor: Actor, item: ReportedItem, check_id: int, matched_item_ids: Sequence[str]
) -> SharingVouch:
    """An advocate confirmed a check's match on a reported link: that picture's hashes are shared.

    `matched_item_ids` are the bundle files the check matched (the matching app, which owns
    checks, reads them from the check's media and calls down here). A case held for its volume
    needs the case-wide vouch first.
    """
    case = lock_case(item.case_id)
    item = ReportedItem.objects.select_for_update().get(pk=item.pk)
    require_active(case)
    organization = _vouching_organization(actor, case)
    _require_consent(case)
    if case.sharing_held_at is not None:
        raise Conflict(_("This case is held for review because of its volume. Review the case and vouch for it first."))
    if item.status not in MATCHED_STATUSES or not matched_item_ids:
        raise Conflict(_("No match was found on this link, so there is nothing to confirm."))
    pending = RegisteredHash.objects.filter(case=case, item_id__in=list(matched_item_ids), vouch__isnull=True)
    hashes = pending.count()
    if not hashes:
        raise Conflict(_("The fingerprints of this picture are already shared."))
    assert actor.user_id is not None  # checked by _vouching_organization
    vouch = SharingVouch.objects.create(
        case=case,
        kind=VouchKind.MATCH,
        user_id=actor.user_id,
        organization=organization,
        item=item,
        check_id=check_id,
        files=pending.values("item_id").distinct().count(),
        hashes=hashes,
        links=1,
        links_matched=1,
    )
    pending.update(vouch=vouch)
    changed = feed_sync_case(case_id=case.pk)
    case_audit(
        actor,
        case,
        "case.sharing_vouched_by_match",
        {
            "vouch_id": vouch.pk,
            "item_id": item.pk,
            "check_id": check_id,
            "hashes": hashes,
            "feed_entries": changed,
        },
    )
    return vouch


def cases_feed_resync() -> tuple[int, int]:
    """Bring every case's feed entries in line with today's rules; returns (cases, entries changed).

    Run once after upgrading to vouching (`manage.py feed_resync`): entries shared on consent alone
    before it have no vouch and become tombstones. Each case is locked in its own transaction.
    Idempotent.
    """
    case_ids: list[int] = sorted(
        {
            case_id
            for case_id in FeedEntry.objects.filter(status=FeedStatus.ACTIVE).values_list("case_id", flat=True)
            if case_id is not None
        }
    )
    changed = 0
    for case_id in case_ids:
        with transaction.atomic():
            if not Case.objects.filter(pk=case_id).exists():
                continue
            lock_case(case_id)
            changed += feed_sync_case(case_id=case_id)
    return len(case_ids), changed
