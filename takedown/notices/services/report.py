"""The case report for police or a court (its download is recorded on the timeline)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict
from takedown.notices.report import case_report_html, case_report_pdf


def case_report_render(*, actor: Actor, case: Case) -> bytes:
    """The case report as PDF for police or a court; its download is recorded on the timeline."""
    pdf = case_report_pdf(case_report_html(case))
    if pdf is None:
        raise Conflict(_("PDF is not available on this server."))
    audit_record(
        actor=actor,
        action="case.report_downloaded",
        subject_type="case",
        subject_id=case.pk,
        organization_id=case.organization_id,
    )
    return pdf
