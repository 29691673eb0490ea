"""The case report for police or a court (its download is recorded on the timeline)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import Conflict, NotFound
from takedown.core.models import ActorKind
from takedown.notices.flagger import trusted_flagger_csv
from takedown.notices.report import case_report_html, case_report_pdf
from takedown.organizations.models import Organization


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


def trusted_flagger_report_export(*, actor: Actor, organization: Organization, year: int) -> str:
    """The DSA Art. 22(3) report data (CSV) of a trusted-flagger organisation; the export is recorded.

    Only a member of the organisation (or the system, for the management command) may export it, and
    only an organisation that records the trusted-flagger status.
    """
    if actor.kind != ActorKind.SYSTEM and organization.pk not in actor.organization_ids:
        raise NotFound(_("We could not find that organisation."))
    if not organization.trusted_flagger:
        raise Conflict(_("This organisation does not record a trusted-flagger status."))
    data = trusted_flagger_csv(organization, year)
    audit_record(
        actor=actor,
        action="organization.trusted_flagger_report",
        subject_type="organization",
        subject_id=organization.pk,
        organization_id=organization.pk,
        data={"year": year},
    )
    return data
