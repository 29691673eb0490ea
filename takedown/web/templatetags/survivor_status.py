"""Where the survivor's case stands, in words that agree everywhere on their case page: the top
line, one sentence per link and one per removal request (issue 19).

A tag rather than view context, like `survivor_approval`, so the case page's view stays as it is.
The sentences come from the cases app's selectors; this tag only gathers the removal requests
(the notices app sits above cases, so they travel down as plain `RequestFacts`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from takedown.cases.models import Case, ItemStatus, ReportedItem
from takedown.cases.selectors import (
    LinkLine,
    RequestFacts,
    case_survivor_headline,
    case_survivor_links,
    item_where,
    request_status_sentence,
)
from takedown.notices.models import Notice, NoticeStatus

register = template.Library()


@dataclass(frozen=True)
class SurvivorStatus:
    headline: str
    links: list[LinkLine]
    requests: list[tuple[Notice, str]]  # each request with where it stands
    removed_count: int


def _facts(notice: Notice) -> RequestFacts:
    return RequestFacts(
        status=notice.status,
        sent_at=notice.sent_at,
        replied_at=notice.replied_at,
        removal_disputed=notice.removal_disputed_at is not None,
    )


@register.simple_tag
def survivor_status(case: Case, item_rows: list[tuple[ReportedItem, str]], compared: bool = True) -> SurvivorStatus:
    """`item_rows`: the page's links with matching's `item_check_notes` sentence for each (or "");
    `compared`: whether the case holds anything to compare a page with (the summary says)."""
    items = [item for item, _note in item_rows]
    notes = {item.pk: note for item, note in item_rows if note}
    shown = case.notices.exclude(status__in=[NoticeStatus.DRAFT, NoticeStatus.READY])
    notices = list(shown.select_related("platform").order_by("updated_at", "id"))
    # Which links each request covers, in one query whatever the number of requests (the page's
    # query count does not grow with the case: tests/cases/test_query_counts.py).
    covers: dict[int, list[int]] = {}
    for notice_id, item_id in Notice.items.through.objects.filter(notice__in=shown).values_list(
        "notice_id", "reporteditem_id"
    ):
        covers.setdefault(notice_id, []).append(item_id)
    by_item: dict[int, RequestFacts] = {}
    for notice in notices:  # oldest first: the latest request covering a link wins
        for item_id in covers.get(notice.pk, []):
            by_item[item_id] = _facts(notice)
    status_of = {item.pk: item.status for item in items}
    requests: list[tuple[Notice, str]] = []
    for notice in reversed(notices):  # newest first, as before
        covered = [status_of[pk] for pk in covers.get(notice.pk, []) if pk in status_of]
        removed = bool(covered) and all(s == ItemStatus.REMOVED for s in covered)
        requests.append((notice, request_status_sentence(request=_facts(notice), items_removed=removed)))
    open_requests = [facts for pk, facts in by_item.items() if status_of.get(pk) not in {None, ItemStatus.REMOVED}]
    return SurvivorStatus(
        headline=case_survivor_headline(case=case, statuses=[i.status for i in items], requests=open_requests),
        links=case_survivor_links(items=items, requests=by_item, notes=notes, compared=compared),
        requests=requests,
        removed_count=sum(1 for item in items if item.status == ItemStatus.REMOVED),
    )


@register.filter
def link_where(url: str) -> str:
    """A link as host and path (several links on one site differ)."""
    return item_where(url)
