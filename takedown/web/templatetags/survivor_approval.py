"""The survivor's list of removal requests to approve or decline (their case page).

A tag rather than view context so the list is one include on the case page. The case is the
survivor's own, reached by the page's view through `survivor_required`.
"""

from __future__ import annotations

from typing import Any

from django import template

from takedown.cases.models import Case
from takedown.notices.models import ContactKind, Notice, NoticeStatus, SurvivorAnswer
from takedown.notices.rendering import notice_context, render_context, survivor_email
from takedown.registry.bases import US_DMCA
from takedown.web.survivor.approval import DeclineForm

register = template.Library()


def _pending(notice: Notice) -> tuple[Notice, str, bool, bool]:
    """A request awaiting approval: its text, whether it gives the website the survivor's own email
    (only if they chose that for it), and whether they may choose that (never on a copyright
    notice, which the organisation files as agent)."""
    ctx = notice_context(notice)
    own_email = ctx.contact is not None and ctx.contact.kind == ContactKind.SURVIVOR
    return notice, render_context(ctx).text, own_email, notice.basis != US_DMCA


@register.inclusion_tag("cases/_notice_approval.html")
def survivor_approvals(case: Case) -> dict[str, Any]:
    notices = list(
        case.notices.filter(status__in=[NoticeStatus.READY, NoticeStatus.DRAFT])
        .select_related("platform", "case")
        .order_by("created_at", "id")
    )
    return {
        "pending": [_pending(notice) for notice in notices if notice.status == NoticeStatus.READY],
        "has_email_contact": bool(survivor_email(case)),
        "declined": [
            n for n in notices if n.status == NoticeStatus.DRAFT and n.survivor_answer == SurvivorAnswer.DECLINED
        ],
        "decline_form": DeclineForm(),
    }
