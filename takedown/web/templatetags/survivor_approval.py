"""The survivor's list of removal requests to approve or decline (their case page).

A tag rather than view context so the list is one include on the case page. The case is the
survivor's own, reached by the page's view through `survivor_required`.
"""

from __future__ import annotations

from typing import Any

from django import template

from takedown.cases.models import Case
from takedown.notices.models import NoticeStatus, SurvivorAnswer
from takedown.notices.rendering import notice_context, render_context
from takedown.web.survivor.approval import DeclineForm

register = template.Library()


@register.inclusion_tag("cases/_notice_approval.html")
def survivor_approvals(case: Case) -> dict[str, Any]:
    notices = list(
        case.notices.filter(status__in=[NoticeStatus.READY, NoticeStatus.DRAFT])
        .select_related("platform", "case")
        .order_by("created_at", "id")
    )
    return {
        "pending": [
            (notice, render_context(notice_context(notice)).text)
            for notice in notices
            if notice.status == NoticeStatus.READY
        ],
        "declined": [
            n for n in notices if n.status == NoticeStatus.DRAFT and n.survivor_answer == SurvivorAnswer.DECLINED
        ],
        "decline_form": DeclineForm(),
    }
