"""What the web app does when a floor below records a change (`core.outbox`): survivors who chose
email contact get a short, neutral "there is news on your case" email. Thin and idempotent.

The web app is the floor that sees both notices and cases, so it decides what is news for the
survivor: a removal request waiting for their approval, sent or answered, a link removed, or a
removed link back online.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from takedown.cases.models import ItemStatus
from takedown.cases.services.news import case_news_email
from takedown.core.outbox import outbox_subscribe
from takedown.notices.models import Notice

NOTICE_REASONS = {
    "notice.sent": "notice_sent",
    "notice.replied": "notice_replied",
    "notice.approval_requested": "notice_asked",
}


def news_reason(topic: str, payload: Mapping[str, Any]) -> str:
    """The news code for an event, or "" when it is not news for the survivor."""
    if topic in NOTICE_REASONS:
        return NOTICE_REASONS[topic]
    before, after = payload.get("from"), payload.get("to")
    if after == ItemStatus.REMOVED and before != ItemStatus.REMOVED:
        return "item_removed"
    if before == ItemStatus.REMOVED and after in {ItemStatus.LIVE, ItemStatus.NEEDS_REVIEW}:
        return "item_back"
    return ""


def on_survivor_news(topic: str, payload: Mapping[str, Any]) -> None:
    reason = news_reason(topic, payload)
    if not reason:
        return
    if topic in NOTICE_REASONS:
        case_id = Notice.objects.filter(pk=int(payload["notice_id"])).values_list("case_id", flat=True).first()
    else:
        case_id = int(payload["case_id"])
    if case_id is not None:
        case_news_email(case_id=case_id, reason=reason)


def subscribe() -> None:
    outbox_subscribe(
        consumer="web.survivor_news",
        topics=["notice.sent", "notice.replied", "notice.approval_requested", "case.item_status_changed"],
        handler=on_survivor_news,
    )
