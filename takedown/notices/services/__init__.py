"""Writes for notices, by concern; import them from here (`from takedown.notices import services`).

- `drafting`: platform, legal basis and channel for a new notice; no duplicates
- `lifecycle`: edit, ready, approve, sent, the platform's answers (the transition table is in `_base`)
- `delivery`: queue, send once by email or webhook, record attempts; form packets
- `deadlines`: re-check when a notice's time passes, verify "removed", decide escalation steps
- `escalation`: propose the ladder's next steps (day 0, overdue, rejected, disputed)
- `report`: the case report for police or a court
"""

from takedown.notices.services._base import NoticeActions, notice_actions
from takedown.notices.services.deadlines import (
    deadlines_review,
    escalation_decide,
    notice_deadline_recheck,
    notice_deadline_review,
    notice_removal_review,
)
from takedown.notices.services.delivery import (
    ABANDONED_DETAIL,
    MAX_ABANDONED_DELIVERIES,
    deliveries_resume,
    delivery_key,
    notice_deliver,
    notice_mark_submitted,
    notice_send,
)
from takedown.notices.services.drafting import HOST_CONTACT_NEEDED, notice_draft
from takedown.notices.services.escalation import SEARCH_ENGINES
from takedown.notices.services.lifecycle import (
    RESOLUTIONS,
    notice_acknowledge,
    notice_approve,
    notice_contact_choose,
    notice_decline,
    notice_edit,
    notice_mark_ready,
    notice_mark_sent,
    notice_record_reply,
    notice_resolve,
)
from takedown.notices.services.report import case_report_render, trusted_flagger_report_export

__all__ = [
    "ABANDONED_DETAIL",
    "HOST_CONTACT_NEEDED",
    "MAX_ABANDONED_DELIVERIES",
    "RESOLUTIONS",
    "SEARCH_ENGINES",
    "NoticeActions",
    "case_report_render",
    "deadlines_review",
    "deliveries_resume",
    "delivery_key",
    "escalation_decide",
    "notice_acknowledge",
    "notice_actions",
    "notice_approve",
    "notice_contact_choose",
    "notice_deadline_recheck",
    "notice_deadline_review",
    "notice_decline",
    "notice_deliver",
    "notice_draft",
    "notice_edit",
    "notice_mark_ready",
    "notice_mark_sent",
    "notice_mark_submitted",
    "notice_record_reply",
    "notice_removal_review",
    "notice_resolve",
    "notice_send",
    "trusted_flagger_report_export",
]
