"""Writes for reported links (items) and their status, which this app owns.

Links are reported by the survivor, an advocate, or the consented bank; the checks that read them
belong to the matching app, which follows the `case.items_reported` event and reports what each
check found through `item_check_recorded`. The item's status moves only through
`_ITEM_TRANSITIONS`; every change that matters to people above (removed, back, needs review) is
an audit event and a `case.item_status_changed` event for the floors above (notices).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, ItemStatus, ReportedItem
from takedown.cases.services._base import case_audit, lock_case, require_active
from takedown.cases.urls_normalize import normalize_url, url_host
from takedown.core.access import Actor
from takedown.core.errors import Conflict, InvalidInput, RateLimited
from takedown.core.models import ActorKind, AuditEvent
from takedown.core.outbox import outbox_emit

MAX_URLS_PER_REQUEST = 50


def add_urls(*, actor: Actor, case: Case, urls: Iterable[str]) -> list[ReportedItem]:
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
        case_audit(actor, case, "case.items_reported", {"count": len(created)})
        # Checking is the matching app's work (a floor above): it follows this event.
        outbox_emit("case.items_reported", {"case_id": case.pk, "item_ids": [item.pk for item in created]})
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
        case_audit(actor, case, "case.volume_capped", {"today": today, "adding": adding})
    raise RateLimited(
        _(
            "You have added many links today. To keep this service safe, an advocate will look at your case "
            "first. You can add more links tomorrow, or ask your advocate to add them."
        )
    )


def case_add_urls(*, actor: Actor, case: Case, urls: Sequence[str]) -> list[ReportedItem]:
    """Report URLs; a URL already reported for the case (after normalisation) is not added twice.

    The survivor's daily volume check runs first, outside the transaction, so the flag it records
    for advocates stays even though the request is refused.
    """
    if actor.kind == ActorKind.SURVIVOR:
        _check_reporting_volume(actor=actor, case=case, adding=len([u for u in urls if u.strip()]))
    with transaction.atomic():
        case = lock_case(case.pk)
        require_active(case)
        return add_urls(actor=actor, case=case, urls=urls)


# ---------------------------------------------------------------------------------------------------
# Item status: one table, one owner.

#: What a finished check can make of an item. A check can follow any earlier result.
CHECKED = frozenset(
    {ItemStatus.LIVE, ItemStatus.NO_MATCH, ItemStatus.UNREACHABLE, ItemStatus.NEEDS_REVIEW, ItemStatus.REMOVED}
)
_ITEM_TRANSITIONS: dict[str, frozenset[str]] = {
    ItemStatus.REPORTED: CHECKED | {ItemStatus.CHECKING},
    ItemStatus.CHECKING: CHECKED,
    **dict.fromkeys(CHECKED, CHECKED),
}


def _item_move(item: ReportedItem, to: str) -> None:
    if to not in _ITEM_TRANSITIONS[item.status]:
        raise Conflict(
            _("A link that is %(from)s cannot become %(to)s.")
            % {"from": ItemStatus(item.status).label, "to": ItemStatus(to).label}
        )
    item.status = to


def _lock_item(item: ReportedItem) -> tuple[Case, ReportedItem]:
    case = lock_case(item.case_id)
    return case, ReportedItem.objects.select_for_update().get(pk=item.pk)


@transaction.atomic
def item_check_started(*, item: ReportedItem) -> ReportedItem:
    """A first check of a newly reported link is on its way: "being checked"."""
    _case, item = _lock_item(item)
    if item.status == ItemStatus.REPORTED:
        _item_move(item, ItemStatus.CHECKING)
        item.save(update_fields=["status", "updated_at"])
    return item


@transaction.atomic
def item_check_recorded(
    *, actor: Actor, item: ReportedItem, found: str, checked_at: datetime, platform: str, check_id: int
) -> ReportedItem:
    """What a finished check found, as the item's new status.

    `found` is the status the check's verdict points to (matching decides that). Two rules of the
    item's own history apply here: a link a person confirmed shows the survivor stays live when a
    later check again finds only a possible match; and a removed link whose page is now gone, or
    holds nothing matching, stays removed (so its removal date stands).
    """
    case, item = _lock_item(item)
    previous = item.status
    status = found
    if status == ItemStatus.NEEDS_REVIEW and item.confirmed_at is not None:
        status = ItemStatus.LIVE
    if previous == ItemStatus.REMOVED and status in {ItemStatus.NO_MATCH, ItemStatus.UNREACHABLE}:
        status = ItemStatus.REMOVED
    _item_move(item, status)
    item.last_checked_at = checked_at
    item.platform = item.platform or platform
    if status in {ItemStatus.LIVE, ItemStatus.NEEDS_REVIEW}:
        item.removed_at = None
    elif status == ItemStatus.REMOVED:
        item.removed_at = item.removed_at or checked_at
    item.save(update_fields=["status", "last_checked_at", "removed_at", "platform", "updated_at"])
    data = {"item_id": item.pk, "check_id": check_id}
    if status == ItemStatus.NEEDS_REVIEW and previous != ItemStatus.NEEDS_REVIEW:
        case_audit(actor, case, "item.needs_review", data)
    if previous == ItemStatus.REMOVED and status == ItemStatus.LIVE:
        case_audit(actor, case, "item.reappeared", data)
    elif status == ItemStatus.REMOVED and previous != ItemStatus.REMOVED:
        case_audit(actor, case, "item.removed", data)
    if status != previous:
        outbox_emit(
            "case.item_status_changed", {"case_id": case.pk, "item_id": item.pk, "from": previous, "to": status}
        )
    return item


@transaction.atomic
def item_review_decide(*, actor: Actor, item: ReportedItem, confirm: bool) -> ReportedItem:
    """A person decides on a link that detectors flagged without a hash match.

    Confirming ("this depicts the survivor") makes the link live, so notices can be drafted for
    it and later checks keep treating it as such; dismissing sets it to "nothing matching". The
    caller has reached the item through `access_item` (staff of the case's organisation, or the
    survivor of the case).
    """
    case, item = _lock_item(item)
    if item.status != ItemStatus.NEEDS_REVIEW:
        raise Conflict(_("This link is not waiting for review."))
    if not case.is_active:
        raise Conflict(_("This case is closed."))
    previous = item.status
    if confirm:
        item.status = ItemStatus.LIVE
        item.confirmed_at = timezone.now()
    else:
        item.status = ItemStatus.NO_MATCH
        item.confirmed_at = None
    item.save(update_fields=["status", "confirmed_at", "updated_at"])
    case_audit(actor, case, "item.review_confirmed" if confirm else "item.review_dismissed", {"item_id": item.pk})
    outbox_emit(
        "case.item_status_changed", {"case_id": case.pk, "item_id": item.pk, "from": previous, "to": item.status}
    )
    return item
