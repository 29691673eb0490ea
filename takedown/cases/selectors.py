"""Reads for cases: the survivor's summary, the caseload, a case's timeline, metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from takedown.cases.models import Case, CaseStatus, ItemStatus, RegisteredHash, ReportedItem, SharingVouch
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.organizations.models import Membership

_PLAIN_STATUS = {
    CaseStatus.OPEN: _("We have your case. The links you gave us are being checked."),
    CaseStatus.IN_PROGRESS: _("Removal requests have been sent. We are waiting for the websites to act."),
    CaseStatus.RESOLVED: _("Everything we know of has been removed. We keep checking in case it comes back."),
    CaseStatus.CLOSED: _("This case is closed."),
    CaseStatus.WITHDRAWN: _("This case was withdrawn."),
}


def case_plain_status(case: Case) -> str:
    return str(_PLAIN_STATUS[CaseStatus(case.status)])


# ---------------------------------------------------------------- the survivor's links, in plain words

#: Statuses of a removal request (the notices app's NoticeStatus values; that app sits above this
#: one, so the web layer passes them in as strings) in which the request is still under way.
_REQUEST_UNDER_WAY = frozenset({"approved", "queued", "delivery_failed", "sent", "acknowledged", "needs_info"})


@dataclass(frozen=True)
class RequestFacts:
    """Where the latest removal request covering one link stands, as plain values."""

    status: str  # a NoticeStatus value
    sent_at: datetime | None = None
    replied_at: datetime | None = None
    removal_disputed: bool = False  # the website said "removed" and a re-check still found the content


@dataclass(frozen=True)
class LinkLine:
    item: ReportedItem
    where: str  # host and path, so several links on one site can be told apart
    sentence: str


def item_where(url: str) -> str:
    """The link as a person reads it: host, path and query, without the scheme."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return url
    if not host:
        return url
    path = "" if parts.path in {"", "/"} else parts.path
    return host + path + (f"?{parts.query}" if parts.query else "")


def _day(moment: datetime | None) -> str:
    return date_format(timezone.localtime(moment), "j M") if moment else ""


def item_status_sentence(
    *,
    status: str,
    removed_at: datetime | None = None,
    request: RequestFacts | None = None,
    note: str = "",
    compared: bool = True,
) -> str:
    """One plain sentence (or two) on where a link stands for the survivor, agreeing with the item's
    status and the removal request covering it. `note` is matching's `item_check_notes` sentence for
    a page a check could not read fully; it is used as is, never re-worded here. `compared` is False
    when the case holds nothing to compare a page with (no photo fingerprints, no face templates):
    then "did not find your photos" would be untrue, and a survivor reading it may give up."""
    if status == ItemStatus.REMOVED:
        if removed_at:
            return str(_("Removed on %(day)s.") % {"day": _day(removed_at)})
        return str(_("Removed."))
    if request is not None and request.status == "removed":
        if request.removal_disputed:
            return str(
                _(
                    "The website says it removed this, but our last check still found your photo here. Your"
                    " advocate is following this up."
                )
            )
        if request.replied_at:
            return str(
                _("The website says it removed this on %(day)s. We are checking that it is gone.")
                % {"day": _day(request.replied_at)}
            )
        return str(_("The website says it removed this. We are checking that it is gone."))
    found: dict[str, object] = {
        ItemStatus.REPORTED: _("We have not checked this link yet."),
        ItemStatus.CHECKING: _("We are checking this link now."),
        ItemStatus.LIVE: _("We found a copy of your photo here."),
        ItemStatus.NO_MATCH: _("We opened this page and did not find your photos there."),
        ItemStatus.UNREACHABLE: _("We could not open this page."),
        ItemStatus.NEEDS_REVIEW: _(
            "We found a face here that may be yours. A person will look before anything is done."
        ),
    }
    if not compared:
        found[ItemStatus.NO_MATCH] = _(
            "We opened this page, but we had nothing to compare it with: add fingerprints of your photos"
            " (made on your own device) so we can look for them."
        )
    first = note if (note and status == ItemStatus.UNREACHABLE) else str(found.get(status, found[ItemStatus.REPORTED]))
    then = _request_sentence(request)
    return f"{first} {then}" if then else first


def _request_sentence(request: RequestFacts | None) -> str:
    if request is None:
        return ""
    if request.status in {"approved", "queued"}:
        return str(_("A removal request is about to be sent."))
    if request.status == "delivery_failed":
        return str(_("We could not send the removal request yet. Your advocate will try again."))
    if request.status == "sent":
        if request.sent_at:
            return str(
                _("We asked the website to remove it on %(day)s and are waiting for an answer.")
                % {"day": _day(request.sent_at)}
            )
        return str(_("We asked the website to remove it and are waiting for an answer."))
    if request.status == "acknowledged":
        return str(_("The website has received our removal request and is looking at it."))
    if request.status == "needs_info":
        return str(_("The website asked for more information. Your advocate will answer."))
    if request.status == "rejected":
        return str(_("The website refused to remove it. Your advocate will decide the next step."))
    return ""


def request_status_sentence(*, request: RequestFacts, items_removed: bool) -> str:
    """Where a removal request stands, in words that agree with its links: a website's "removed" is
    "removed" only once our checks found the links gone."""
    if request.status == "removed":
        if items_removed:
            return str(_("Removed."))
        if request.removal_disputed:
            return str(_("The website says it removed it, but our last check still found it."))
        return str(_("The website says it removed it. We are checking."))
    return {
        "approved": str(_("About to be sent.")),
        "queued": str(_("About to be sent.")),
        "delivery_failed": str(_("Not sent yet: your advocate will try again.")),
        "sent": str(_("Sent. Waiting for an answer.")),
        "acknowledged": str(_("The website is looking at it.")),
        "needs_info": str(_("The website asked for more information.")),
        "rejected": str(_("The website refused.")),
    }.get(request.status, "")


def case_survivor_links(
    *, items: list[ReportedItem], requests: dict[int, RequestFacts], notes: dict[int, str], compared: bool = True
) -> list[LinkLine]:
    """Each link with where it is and one plain sentence (requests and notes by item id; `compared`:
    the summary's ``compared``, whether the case holds anything to compare a page with)."""
    return [
        LinkLine(
            item=item,
            where=item_where(item.url),
            sentence=item_status_sentence(
                status=item.status,
                removed_at=item.removed_at,
                request=requests.get(item.pk),
                note=notes.get(item.pk, ""),
                compared=compared,
            ),
        )
        for item in items
    ]


def case_survivor_headline(*, case: Case, statuses: list[str], requests: list[RequestFacts]) -> str:
    """The case page's top line, true of the links (`statuses`, one per link) and of the requests
    still covering links not yet removed (`requests`)."""
    if case.status in {CaseStatus.CLOSED, CaseStatus.WITHDRAWN}:
        return case_plain_status(case)
    if not statuses:
        return str(_("We have your case. You have not given us any links yet."))
    if all(s == ItemStatus.REMOVED for s in statuses):
        return str(_PLAIN_STATUS[CaseStatus.RESOLVED])
    if any(s in {ItemStatus.REPORTED, ItemStatus.CHECKING} for s in statuses):
        return str(_("We have your case. We are still checking some of the links you gave us."))
    if any(r.status in _REQUEST_UNDER_WAY or r.status == "removed" for r in requests):
        return str(_("We have asked websites to remove your photos and are waiting for them to act."))
    if any(s in {ItemStatus.LIVE, ItemStatus.NEEDS_REVIEW} for s in statuses):
        return str(
            _("Every check has finished. We found copies of your photos: each link below says what happens next.")
        )
    return str(_("Every check has finished. Each link below says what we found."))


def case_survivor_summary(*, case: Case) -> dict[str, Any]:
    items = list(case.items.all())
    files_registered = RegisteredHash.objects.filter(case=case).values("item_id").distinct().count()
    face_templates = case.face_templates.count() if case.consent_face_matching else 0
    return {
        "case": case,
        "status_text": case_plain_status(case),
        "items": items,
        "files_registered": files_registered,
        "removed_count": sum(1 for i in items if i.status == ItemStatus.REMOVED),
        "review_items": [i for i in items if i.status == ItemStatus.NEEDS_REVIEW],
        "face_templates": face_templates,
        # Whether a check had anything to compare a page with (photo fingerprints, face templates):
        # without it a link's "did not find your photos" would be untrue (item_status_sentence).
        "compared": bool(files_registered or face_templates),
    }


@dataclass(frozen=True)
class CaseloadFilters:
    status: str = ""
    due: str = ""  # "soon" (within 24 h), "overdue"
    platform: str = ""
    mine: bool = False
    risk: str = ""  # "sextortion", "doxxing", "physical_danger"
    q: str = ""
    sort: str = "-created_at"


SORTS = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "deadline": ("next_deadline_at", "-created_at"),
    "-updated_at": ("-updated_at", "-id"),
}
RISKS = {"sextortion": "risk_sextortion", "doxxing": "risk_doxxing", "physical_danger": "risk_physical_danger"}


def caseload(*, actor: Actor, filters: CaseloadFilters) -> QuerySet[Case]:
    """Cases of the actor's organisations, filtered and sorted, with counts in one query."""
    now = timezone.now()
    qs = (
        Case.objects.filter(organization_id__in=actor.organization_ids)
        .exclude(status=CaseStatus.WITHDRAWN)  # gone at once; a task erases the rows
        .select_related("organization", "assignee")
    )
    if filters.status in CaseStatus.values:
        qs = qs.filter(status=filters.status)
    if filters.due == "soon":
        qs = qs.filter(next_deadline_at__gte=now, next_deadline_at__lte=now + timedelta(hours=24))
    elif filters.due == "overdue":
        qs = qs.filter(next_deadline_at__lt=now)
    if filters.platform:
        qs = qs.filter(
            Exists(
                ReportedItem.objects.filter(case=OuterRef("pk")).filter(
                    Q(platform=filters.platform) | Q(host=filters.platform)
                )
            )
        )
    if filters.mine and actor.user_id is not None:
        qs = qs.filter(assignee_id=actor.user_id)
    if filters.risk in RISKS:
        qs = qs.filter(**{RISKS[filters.risk]: True})
    if filters.q:
        needle = filters.q.strip()
        qs = qs.filter(
            Q(reference__icontains=needle)
            | Exists(ReportedItem.objects.filter(case=OuterRef("pk"), host__icontains=needle))
        )
    # Counted by correlated subqueries, not a join with GROUP BY: PostgreSQL then counts links only
    # for the page's 25 rows, and the paginator's COUNT drops the unused subqueries. The join
    # aggregated every case's links on every page view (~200 ms per page at 10,000 cases, see
    # docs/benchmarks/load.md).
    items = ReportedItem.objects.filter(case=OuterRef("pk")).order_by().values("case")
    qs = qs.annotate(
        item_count=Coalesce(Subquery(items.annotate(n=Count("pk")).values("n")), 0),
        removed_count=Coalesce(
            Subquery(items.filter(status=ItemStatus.REMOVED).annotate(n=Count("pk")).values("n")), 0
        ),
    )
    return qs.order_by(*SORTS.get(filters.sort, SORTS["-created_at"]))


def case_timeline(*, case: Case) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(subject_type="case", subject_id=str(case.pk))
        .exclude(action="case.viewed")
        .select_related("actor_user")
    )


def caseload_metrics(*, actor: Actor) -> dict[str, Any]:
    """Counts by status, removals per week, and median time to removal per platform (host)."""
    cases = Case.objects.filter(organization_id__in=actor.organization_ids)
    by_status = {row["status"]: row["n"] for row in cases.values("status").annotate(n=Count("id"))}
    status_rows = [(CaseStatus(s).label, by_status.get(s, 0)) for s in CaseStatus.values]
    items = ReportedItem.objects.filter(case__organization_id__in=actor.organization_ids)
    removed = list(
        items.filter(status=ItemStatus.REMOVED, removed_at__isnull=False).values(
            "host", "platform", "first_seen_at", "removed_at"
        )
    )
    per_platform: dict[str, list[float]] = {}
    per_week: dict[str, int] = {}
    for row in removed:
        assert row["removed_at"] is not None  # filtered above
        key = row["platform"] or row["host"]
        hours = (row["removed_at"] - row["first_seen_at"]).total_seconds() / 3600
        per_platform.setdefault(key, []).append(hours)
        week = _week_start(row["removed_at"]).date().isoformat()
        per_week[week] = per_week.get(week, 0) + 1
    overdue = (
        cases.filter(next_deadline_at__lt=timezone.now())
        .exclude(status__in=[CaseStatus.CLOSED, CaseStatus.WITHDRAWN])
        .count()
    )
    return {
        "by_status": status_rows,
        "max_status": max([n for _l, n in status_rows] + [1]),
        "removed_per_week": sorted(per_week.items()),
        "max_week": max([*list(per_week.values()), 1]),
        "median_hours_by_platform": sorted(
            ((platform, round(median(hours), 1), len(hours)) for platform, hours in per_platform.items()),
            key=lambda row: row[1],
        ),
        "items_total": items.count(),
        "items_removed": len(removed),
        "overdue_cases": overdue,
    }


def _week_start(moment: datetime) -> datetime:
    return (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def organization_members(*, organization_id: int) -> list[tuple[int, str]]:
    return [
        (m.user_id, m.user.email or m.user.get_username())
        for m in Membership.objects.filter(organization_id=organization_id, is_active=True)
        .select_related("user")
        .order_by("user__email")
    ]


def cases_flagged_for_volume(*, actor: Actor, days: int = 7) -> list[Case]:
    """Cases of the actor's organisations whose survivor session hit the daily link cap recently."""
    since = timezone.now() - timedelta(days=days)
    flagged = AuditEvent.objects.filter(
        action="case.volume_capped",
        subject_type="case",
        organization_id__in=actor.organization_ids,
        created_at__gte=since,
    ).values_list("subject_id", flat=True)
    return list(Case.objects.filter(pk__in=list(flagged), organization_id__in=actor.organization_ids))


def case_sharing_review(*, case: Case) -> dict[str, Any]:
    """What an advocate reviews before vouching for a case's hashes (never the pictures).

    The request (consent, who opened it), the volume (files and fingerprints, those not yet
    vouched for, files added in the last day, a hold), the links reported and those where a
    match was found, and the vouches so far with who gave them. Counts in a few queries.
    """
    since = timezone.now() - timedelta(days=1)
    hashes = RegisteredHash.objects.filter(case=case)
    counts = hashes.aggregate(
        files=Count("item_id", distinct=True),
        hashes=Count("pk"),
        pending_files=Count("item_id", distinct=True, filter=Q(vouch__isnull=True)),
        pending_hashes=Count("pk", filter=Q(vouch__isnull=True)),
        files_today=Count("item_id", distinct=True, filter=Q(created_at__gte=since)),
    )
    links = case.items.aggregate(
        links=Count("pk"), links_matched=Count("pk", filter=Q(status__in=[ItemStatus.LIVE, ItemStatus.REMOVED]))
    )
    can_vouch = bool(case.organization and case.organization.can_vouch_hashes and case.is_active)
    return {
        **counts,
        **links,
        "held_at": case.sharing_held_at,
        "consent": case.consent_share_hashes,
        "can_vouch": can_vouch and case.consent_share_hashes and (counts["pending_hashes"] or case.sharing_held_at),
        "organization_can_vouch": bool(case.organization and case.organization.can_vouch_hashes),
        "vouches": list(SharingVouch.objects.filter(case=case).select_related("user", "organization", "item")),
    }


def cases_held_for_sharing(*, actor: Actor) -> list[Case]:
    """Cases of the actor's organisations whose sharing is held for their volume (review page)."""
    return list(
        Case.objects.filter(organization_id__in=actor.organization_ids, sharing_held_at__isnull=False)
        .exclude(status=CaseStatus.WITHDRAWN)
        .order_by("sharing_held_at")
    )
