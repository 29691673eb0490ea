"""Reads for checks: what waits for a person's review, each link's latest verdict, and why a page
could not be read fully, in words for the survivor."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from takedown.cases.models import ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.matching.models import CheckState, ItemCheck, Verdict


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


#: Why a page could not be read fully, in words for the survivor ("you"), by `partial_reason`.
_SURVIVOR_REASONS = {
    "bot_challenge": _("the website asked us to prove we are not a robot"),
    "login_wall": _("the page is only shown to people who sign in"),
    "age_gate": _("the page asks visitors to confirm their age first, and we do not click through"),
    "paywall": _("the page is only shown to paying subscribers"),
    "legal_block": _("the website blocks it where our service runs"),
    "needs_rendering": _("the page is built by programs that run in a browser, and we could not run them"),
    "render_failed": _("the page is built by programs that run in a browser, and we could not run them"),
    "candidate_limit": _("it holds more pictures or videos than one check looks at"),
    "stream_limit": _("it holds more videos than one check looks at"),
    "page_limit": _("it goes on over more pages than one check looks at"),
    "page_unreadable": _("part of it could not be opened"),
    "media_unreadable": _("some pictures or videos on it could not be opened"),
}


def item_check_notes(*, items: list[ReportedItem]) -> dict[int, str]:
    """For the survivor's page: a plain sentence for each link whose latest check could not read
    the page fully (item id -> text), so "could not be checked" says why. One query.

    A page read in part (verdict "partial") gets "We could only read part of this page: ...";
    a page refused outright by a wall (a login, an age check) gets "We could not read this page: ...".
    """
    notes: dict[int, str] = {}
    latest: dict[int, ItemCheck] = {}
    for check in (
        ItemCheck.objects.filter(item__in=items, state=CheckState.DONE)
        .order_by("finished_at", "id")
        .only("item_id", "verdict", "partial_reason")
    ):
        latest[check.item_id] = check  # ascending: the newest check wins
    for item_id, check in latest.items():
        reason = _SURVIVOR_REASONS.get(check.partial_reason)
        if reason is None:
            continue
        if check.verdict == Verdict.PARTIAL:
            notes[item_id] = str(
                _(
                    "We could only read part of this page: %(reason)s. Nothing we could see matches your"
                    " files, but what we could not see might."
                )
                % {"reason": reason}
            )
        elif check.verdict == Verdict.UNREACHABLE:
            notes[item_id] = str(_("We could not read this page: %(reason)s.") % {"reason": reason})
    return notes
