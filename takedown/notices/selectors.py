"""Reads for notices: a case's notices, the evidence to cite, what needs a second person, what a case needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from takedown.cases.models import Case, CaseStatus, ItemStatus, RegisteredHash, ReportedItem
from takedown.matching.models import CheckState, ItemCheck
from takedown.notices.models import Escalation, EscalationStatus, Notice, NoticeStatus, SurvivorAnswer

_ACTIVE_CASES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS)


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


def caseload_attention(cases: QuerySet[Case]) -> QuerySet[Case]:
    """The caseload with what each case needs from an advocate now, in correlated subqueries.

    Counted per row like the caseload's own counts, so PostgreSQL evaluates them for the page's
    rows only, and the page costs no extra query. `case_attention` turns them into words.
    """
    items = ReportedItem.objects.filter(case=OuterRef("pk")).order_by().values("case")
    notices = Notice.objects.filter(case=OuterRef("pk"))
    return cases.annotate(
        matched_links=Coalesce(Subquery(items.filter(status=ItemStatus.LIVE).annotate(n=Count("pk")).values("n")), 0),
        review_links=Exists(items.filter(status=ItemStatus.NEEDS_REVIEW)),
        unnoticed_matches=Exists(items.filter(status=ItemStatus.LIVE, notices__isnull=True)),
        removal_disputed=Exists(notices.filter(status=NoticeStatus.REMOVED, removal_disputed_at__isnull=False)),
        platform_asks=Exists(notices.filter(status=NoticeStatus.NEEDS_INFO)),
        survivor_declined=Exists(notices.filter(status=NoticeStatus.DRAFT, survivor_answer=SurvivorAnswer.DECLINED)),
        survivor_asked=Exists(notices.filter(status=NoticeStatus.READY, survivor_answer=SurvivorAnswer.ASKED)),
        survivor_approved=Exists(notices.filter(status=NoticeStatus.APPROVED, survivor_answer=SurvivorAnswer.APPROVED)),
        steps_proposed=Exists(Escalation.objects.filter(notice__case=OuterRef("pk"), status=EscalationStatus.PROPOSED)),
    )


def caseload_needing_action(cases: QuerySet[Case], *, urgent_only: bool = False) -> QuerySet[Case]:
    """Cases annotated by `caseload_attention` that need an advocate now (urgent), or at all.

    Waiting for the survivor's answer is not an advocate's action, so it is left out.
    """
    urgent = (
        Q(removal_disputed=True)
        | Q(platform_asks=True)
        | Q(survivor_declined=True)
        | Q(review_links=True)
        | Q(next_deadline_at__lt=timezone.now(), status__in=_ACTIVE_CASES)
    )
    if urgent_only:
        return cases.filter(urgent)
    return cases.filter(urgent | Q(survivor_approved=True) | Q(unnoticed_matches=True) | Q(steps_proposed=True))


@dataclass(frozen=True)
class Attention:
    """One thing a case needs, in words; `urgent` ones are shown first and marked."""

    code: str
    text: str
    urgent: bool


def case_attention(case: Case, *, now: datetime | None = None) -> list[Attention]:
    """What a case annotated by `caseload_attention` needs from an advocate, most urgent first."""
    moment = now or timezone.now()
    rows = [
        ("removal_disputed", _("Platform said removed, but a check still finds the content"), True),
        ("overdue", _("A deadline passed"), True),
        ("platform_asks", _("A platform asks for more information"), True),
        ("survivor_declined", _("The survivor declined a request"), True),
        ("review_links", _("A possible match waits for review"), True),
        ("survivor_approved", _("The survivor approved a request: send it"), False),
        ("unnoticed_matches", _("Match found: draft a notice"), False),
        ("steps_proposed", _("Next steps proposed"), False),
        ("survivor_asked", _("Waiting for the survivor's answer"), False),
    ]
    flags = {code: bool(getattr(case, code, False)) for code, _text, _urgent in rows}
    flags["overdue"] = (
        case.next_deadline_at is not None and case.next_deadline_at < moment and case.status in _ACTIVE_CASES
    )
    return [Attention(code, str(text), urgent) for code, text, urgent in rows if flags[code]]


def case_needs(*, case: Case) -> list[Attention]:
    """`case_attention` for one case (the case page), in one query."""
    annotated = caseload_attention(Case.objects.filter(pk=case.pk)).first()
    return case_attention(annotated) if annotated is not None else []
