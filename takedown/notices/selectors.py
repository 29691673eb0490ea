"""Reads for notices: a case's notices, the evidence to cite, what needs a second person."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from takedown.cases.models import Case, RegisteredHash, ReportedItem
from takedown.matching.models import CheckState, ItemCheck
from takedown.notices.models import Escalation, Notice


def case_notices(*, case: Case) -> QuerySet[Notice]:
    return case.notices.select_related("platform").prefetch_related("items")


def latest_checks(*, items: Iterable[ReportedItem]) -> dict[int, ItemCheck]:
    """The latest finished check of each item (one query), with its media."""
    ids = [item.pk for item in items]
    latest: dict[int, ItemCheck] = {}
    checks = (
        ItemCheck.objects.filter(item_id__in=ids, state=CheckState.DONE)
        .order_by("item_id", "-finished_at", "-id")
        .prefetch_related("media")
    )
    for check in checks:
        latest.setdefault(check.item_id, check)
    return latest


# Only the perceptual hashes platforms can match with; exact (sha256/md5) digests of the original
# are not shared, and only the unedited original's hashes, not the registered crops and rotations.
SHAREABLE_SIGNALS = ("pdq", "phash")


def matched_registered_hashes(*, case: Case, item_ids: Iterable[str]) -> list[RegisteredHash]:
    """Registered PDQ/pHash values of the given registered files (bundle item ids), originals only."""
    return list(
        RegisteredHash.objects.filter(
            case=case, item_id__in=list(item_ids), signal__in=SHAREABLE_SIGNALS, variant="original"
        ).order_by("item_id", "signal", "id")
    )


def case_escalations(*, case: Case) -> QuerySet[Escalation]:
    """The case's proposed and decided escalation steps, newest first, with what they link to."""
    return (
        Escalation.objects.filter(notice__case=case)
        .select_related("notice__platform", "draft_notice__platform")
        .order_by("-created_at", "-id")
    )


def _with_match_counts(notices: QuerySet[Notice]) -> Any:
    """Notices annotated with how many links they cover and how many of those a check matched.

    Typed as Any: django-stubs cannot follow annotations through a helper's return type.
    """
    matched = Q(items__checks__state=CheckState.DONE, items__checks__verdict="match")
    return notices.annotate(
        link_count=Count("items", distinct=True), matched_count=Count("items", filter=matched, distinct=True)
    )


def notice_hash_backed(notice: Notice) -> bool:
    """True when every link of the notice had a check that found a copy of a registered image.

    A notice without that (a link the service could not fetch, or one confirmed by a person after
    the detectors flagged it) rests on someone's word: it is reviewed by a second person.
    """
    counts = _with_match_counts(Notice.objects.filter(pk=notice.pk)).values("link_count", "matched_count").first()
    return counts is not None and 0 < counts["link_count"] == counts["matched_count"]


def notices_needing_second_review(*, organization_ids: Iterable[int], limit: int = 200) -> list[Notice]:
    """Drafts and ready notices of these organisations that are not backed by a hash match (one query)."""
    notices = Notice.objects.filter(case__organization_id__in=list(organization_ids), status__in=["draft", "ready"])
    return list(
        _with_match_counts(notices)
        .exclude(link_count__gt=0, link_count=F("matched_count"))
        .select_related("case", "platform", "created_by")
        .order_by("created_at", "id")[:limit]
    )
