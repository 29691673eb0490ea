"""Reads for the platform API, the portal and the advocate's case page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from takedown.cases.models import FeedEntry, FeedStatus
from takedown.notices.models import OPEN_STATUSES, Notice
from takedown.platforms.access import PlatformCaller, notices_for
from takedown.platforms.models import FeedbackVerdict, HashFeedback

MAX_FEED_PAGE = 1000


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry]
    cursor: int  # the last change id returned (or the one asked from): pass it back as `cursor`
    has_more: bool


def feed_page(*, after: int, limit: int) -> FeedPage:
    """Entries changed after `after`, oldest change first. Values are decrypted for active entries only."""
    rows = list(FeedEntry.objects.filter(change_id__gt=after).order_by("change_id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return FeedPage(entries=rows, cursor=rows[-1].change_id if rows else after, has_more=has_more)


def feed_entry_is_shared(entry: FeedEntry) -> bool:
    """Active and not held: what the feed announces as `active` with its value."""
    return entry.status == FeedStatus.ACTIVE and entry.held_at is None and entry.value is not None


def pdq_export_lines() -> Iterator[str]:
    """Every shared PDQ hash as one hex line (the hasher-matcher-actioner bank import format)."""
    rows = FeedEntry.objects.filter(signal="pdq", status=FeedStatus.ACTIVE, held_at__isnull=True).order_by("change_id")
    for entry in rows.only("value").iterator(chunk_size=5000):
        if entry.value:
            yield entry.value


def notices_queue(caller: PlatformCaller) -> QuerySet[Notice]:
    """The portal's queue: open notices addressed to the caller, earliest deadline first."""
    return notices_for(caller).filter(status__in=OPEN_STATUSES).order_by("due_at", "id")


@dataclass(frozen=True)
class HashFeedbackRow:
    public_id: str
    signal: str
    held: bool
    blocked: int
    not_blocked: int
    false_positive: int
    seen: int = 0


def case_hash_feedback(case_id: int) -> list[HashFeedbackRow]:
    """Platforms' feedback on a case's shared hashes, for its advocates (one query)."""
    rows = (
        FeedEntry.objects.filter(case_id=case_id)
        .filter(Q(feedback__isnull=False) | Q(held_at__isnull=False))
        .annotate(
            blocked=Count("feedback", filter=Q(feedback__verdict=FeedbackVerdict.BLOCKED)),
            not_blocked=Count("feedback", filter=Q(feedback__verdict=FeedbackVerdict.NOT_BLOCKED)),
            false_positive=Count("feedback", filter=Q(feedback__verdict=FeedbackVerdict.FALSE_POSITIVE)),
            seen=Count("feedback", filter=Q(feedback__verdict=FeedbackVerdict.SEEN)),
        )
        .order_by("change_id")
        .only("public_id", "signal", "held_at")
        .distinct()
    )
    return [
        HashFeedbackRow(
            r.public_id, r.signal, r.held_at is not None, r.blocked, r.not_blocked, r.false_positive, r.seen
        )
        for r in rows
    ]


def feedback_of(caller: PlatformCaller, entry: FeedEntry) -> HashFeedback | None:
    return HashFeedback.objects.filter(entry=entry, account_id=caller.account_id).first()
