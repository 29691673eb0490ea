"""Reads for checks: what waits for a person's review, and each link's latest verdict."""

from __future__ import annotations

from takedown.cases.models import ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.matching.models import CheckState, ItemCheck


def items_needing_review(*, actor: Actor, limit: int = 200) -> list[ReportedItem]:
    """Links of the actor's organisations that detectors flagged without a hash match, oldest first.

    Each item carries `latest_verdict_text` (its newest finished check's reasons), fetched in one
    extra query, not one per row.
    """
    items = list(
        ReportedItem.objects.filter(status=ItemStatus.NEEDS_REVIEW, case__organization_id__in=actor.organization_ids)
        .select_related("case")
        .order_by("updated_at", "id")[:limit]
    )
    latest: dict[int, str] = {}
    checks = ItemCheck.objects.filter(item__in=items, state=CheckState.DONE).order_by("finished_at", "id")
    for check in checks.only("item_id", "verdict_text"):
        latest[check.item_id] = check.verdict_text  # ascending: the newest check wins
    for item in items:
        item.latest_verdict_text = latest.get(item.pk, "")  # type: ignore[attr-defined]
    return items
