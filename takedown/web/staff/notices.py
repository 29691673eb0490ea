"""Advocate pages for notices. Every notice is reached through `access_notice` (its case's chokepoint)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from takedown.cases.access import access_case
from takedown.core.errors import Conflict, InvalidInput, NotFound
from takedown.notices import services
from takedown.notices.access import access_escalation, access_notice
from takedown.notices.models import Notice
from takedown.notices.packets import form_packet
from takedown.notices.rendering import notice_channel_row, notice_pdf, render_notice, resolve_contact
from takedown.notices.selectors import case_notices, notice_hash_backed
from takedown.notices.validation import notice_validate
from takedown.organizations.access import StaffRequest, staff_required
from takedown.organizations.models import Organization
from takedown.registry.bases import basis_get, select_bases
from takedown.web.staff.notice_forms import (
    EscalationDecisionForm,
    FormSubmittedForm,
    NoticeDraftForm,
    NoticeEditForm,
    media_links_text,
    parse_media_links,
)


@require_GET
@staff_required
def notice_list(request: StaffRequest, case_id: int) -> HttpResponse:
    case = access_case(request.actor, case_id)
    return render(request, "staff/notices/list.html", {"case": case, "notices": case_notices(case=case)})


@require_http_methods(["GET", "POST"])
@staff_required
def notice_new(request: StaffRequest, case_id: int) -> HttpResponse:
    case = access_case(request.actor, case_id)
    form = NoticeDraftForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.notice_draft(
                actor=request.actor,
                case=case,
                items=list(form.cleaned_data["items"]),
                basis_code=form.cleaned_data["basis"] or None,
                member_state=form.cleaned_data["member_state"],
                host_contact=form.cleaned_data["host_contact"],
                host_name=form.cleaned_data["host_name"],
                host_is_provider=form.cleaned_data["host_is_provider"],
            )
        except (InvalidInput, Conflict) as exc:
            form.add_error(None, exc.message)
            if exc.code == services.HOST_CONTACT_NEEDED:
                form.add_error("host_contact", _("Enter the site's (or its host's) abuse email or report form."))
        else:
            messages.success(request, _("Notice drafted. Check it, complete anything missing, then approve it."))
            return redirect("staff_cases:notice", case_id=case.pk, notice_id=notice.pk)
    return render(request, "staff/notices/new.html", {"case": case, "form": form}, status=400 if form.errors else 200)


def _detail(
    request: StaffRequest, notice: Notice, status: int = 200, edit_form: NoticeEditForm | None = None
) -> HttpResponse:
    rendered = render_notice(notice, fragment=True)
    basis = basis_get(notice.basis)
    return render(
        request,
        "staff/notices/detail.html",
        {
            "case": notice.case,
            "notice": notice,
            "basis": basis,
            "rendered": rendered,
            "missing": [] if notice.is_frozen else notice_validate(notice),
            "choices": select_bases(notice.case, notice.platform, include_opt_in=True),
            "attempts": list(notice.delivery_attempts.all()),
            "escalations": list(notice.escalations.select_related("draft_notice__platform")),
            "escalated_from": getattr(notice, "escalated_from", None),
            "actions": services.notice_actions(notice),
            # The drafter of a notice no hash match backs cannot approve it alone (notice_approve):
            # the page offers asking the survivor instead of a button that would be refused.
            "needs_second_person": (
                request.actor.user_id is not None
                and request.actor.user_id == notice.created_by_id
                and not notice_hash_backed(notice)
            ),
            "channel": notice_channel_row(notice),
            "contact": resolve_contact(notice.case, notice),
            "edit_form": edit_form
            or NoticeEditForm(
                initial={
                    "details": notice.details,
                    "dmca_work": notice.dmca_work,
                    "dmca_acknowledged": notice.dmca_acknowledged,
                    "member_state": notice.member_state,
                    "national_offence": notice.national_offence,
                    "requester_verification": notice.requester_verification,
                    "media_links": media_links_text(notice.media_links),
                }
            ),
        },
        status=status,
    )


@require_GET
@staff_required
def notice_detail(request: StaffRequest, case_id: int, notice_id: int) -> HttpResponse:
    _case, notice = access_notice(request.actor, case_id, notice_id)
    return _detail(request, notice)


@require_POST
@staff_required
def notice_edit(request: StaffRequest, case_id: int, notice_id: int) -> HttpResponse:
    _case, notice = access_notice(request.actor, case_id, notice_id)
    form = NoticeEditForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["media_links"] = parse_media_links(data["media_links"])
        try:
            services.notice_edit(actor=request.actor, notice=notice, **data)
        except (InvalidInput, Conflict) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Notice saved."))
            return redirect("staff_cases:notice", case_id=notice.case_id, notice_id=notice.pk)
    return _detail(request, notice, status=400, edit_form=form)


@require_POST
@staff_required
def notice_approve(request: StaffRequest, case_id: int, notice_id: int) -> HttpResponse:
    _case, notice = access_notice(request.actor, case_id, notice_id)
    try:
        services.notice_approve(actor=request.actor, notice=notice)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Notice approved."))
    return redirect("staff_cases:notice", case_id=notice.case_id, notice_id=notice.pk)


@require_POST
@staff_required
def notice_ask_survivor(request: StaffRequest, case_id: int, notice_id: int) -> HttpResponse:
    """Mark the notice ready: the survivor is asked on their case page (another advocate may approve it too)."""
    _case, notice = access_notice(request.actor, case_id, notice_id)
    try:
        services.notice_mark_ready(actor=request.actor, notice=notice)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "The survivor is asked to approve or decline this notice on their case page. Their answer "
                "will show here and on the caseload."
            ),
        )
    return redirect("staff_cases:notice", case_id=notice.case_id, notice_id=notice.pk)


@require_GET
@staff_required
def notice_pdf_download(request: StaffRequest, case_id: int, notice_id: int) -> HttpResponse:
    _case, notice = access_notice(request.actor, case_id, notice_id)
    pdf = notice_pdf(render_notice(notice).html)
    if pdf is None:
        messages.error(request, _("PDF is not available on this server."))
        return redirect("staff_cases:notice", case_id=notice.case_id, notice_id=notice.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="notice-{notice.reference}.pdf"'
    return response


@require_POST
@staff_required
def notice_send(request: StaffRequest, case_id: int, notice_id: int) -> HttpResponse:
    _case, notice = access_notice(request.actor, case_id, notice_id)
    try:
        services.notice_send(actor=request.actor, notice=notice)
    except (InvalidInput, Conflict) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Notice queued for delivery. Each attempt is listed below."))
    return redirect("staff_cases:notice", case_id=notice.case_id, notice_id=notice.pk)


def _packet(request: StaffRequest, notice: Notice, form: FormSubmittedForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "staff/notices/packet.html",
        {
            "case": notice.case,
            "notice": notice,
            "packet": form_packet(notice),
            "form": form,
            "actions": services.notice_actions(notice),
        },
        status=status,
    )


@require_GET
@staff_required
def notice_packet(request: StaffRequest, case_id: int, notice_id: int) -> HttpResponse:
    _case, notice = access_notice(request.actor, case_id, notice_id)
    return _packet(request, notice, FormSubmittedForm())


@require_POST
@staff_required
def notice_submitted(request: StaffRequest, case_id: int, notice_id: int) -> HttpResponse:
    _case, notice = access_notice(request.actor, case_id, notice_id)
    form = FormSubmittedForm(request.POST)
    if form.is_valid():
        try:
            services.notice_mark_submitted(
                actor=request.actor, notice=notice, platform_ticket=form.cleaned_data["platform_ticket"]
            )
        except (InvalidInput, Conflict) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Recorded as submitted. The platform's deadline runs from now."))
            return redirect("staff_cases:notice", case_id=notice.case_id, notice_id=notice.pk)
    return _packet(request, notice, form, status=400)


@require_POST
@staff_required
def escalation_decide(request: StaffRequest, case_id: int, escalation_id: int) -> HttpResponse:
    _case, escalation = access_escalation(request.actor, case_id, escalation_id)
    form = EscalationDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to take this step."))
    else:
        try:
            services.escalation_decide(
                actor=request.actor, escalation=escalation, accept=form.cleaned_data["decision"] == "accept"
            )
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Saved."))
    if escalation.draft_notice_id and form.is_valid() and form.cleaned_data["decision"] == "accept":
        return redirect("staff_cases:notice", case_id=case_id, notice_id=escalation.draft_notice_id)
    return redirect("staff_cases:notice", case_id=case_id, notice_id=escalation.notice_id)


@require_GET
@staff_required
def case_report(request: StaffRequest, case_id: int) -> HttpResponse:
    case = access_case(request.actor, case_id)
    try:
        pdf = services.case_report_render(actor=request.actor, case=case)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("staff_cases:detail", case_id=case.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="case-report-{case.reference}.pdf"'
    return response


@require_GET
@staff_required
def trusted_flagger_report(request: StaffRequest) -> HttpResponse:
    """The organisation's DSA Art. 22(3) report data as CSV (`?organization=<slug>&year=<yyyy>`)."""
    slug = request.GET.get("organization", "")
    organizations = Organization.objects.filter(pk__in=request.actor.organization_ids, trusted_flagger=True)
    organization = organizations.filter(slug=slug).first() if slug else organizations.order_by("pk").first()
    if organization is None:
        raise NotFound(_("None of your organisations records a trusted-flagger status."))
    try:
        year = int(request.GET.get("year") or timezone.now().year)
    except ValueError as exc:
        raise InvalidInput(_("The year must be a number.")) from exc
    data = services.trusted_flagger_report_export(actor=request.actor, organization=organization, year=year)
    response = HttpResponse(data, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="trusted-flagger-{organization.slug}-{year}.csv"'
    response["Cache-Control"] = "no-store"
    return response
