"""Advocate pages for cases. Every case is reached through `access_case` (records the view)."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from takedown.cases import services
from takedown.cases.access import access_case
from takedown.cases.models import Case, CaseStatus
from takedown.cases.selectors import (
    CaseloadFilters,
    case_plain_status,
    case_sharing_review,
    case_timeline,
    caseload,
    caseload_metrics,
    organization_members,
)
from takedown.cases.services.signin import IDENTITY_CHECKS_REQUIRED, case_access_recover
from takedown.core.errors import Conflict, InvalidInput, NotFound
from takedown.notices.selectors import case_attention, case_needs, caseload_attention, caseload_needing_action
from takedown.organizations.access import StaffRequest, staff_required
from takedown.web.staff.forms import (
    AccessRecoverForm,
    AssignForm,
    BulkForm,
    CaseloadFilterForm,
    DetailsForm,
    NoteForm,
    RepresentativeCaseForm,
    StatusForm,
)

PAGE_SIZE = 25


def _caseload(request: StaffRequest, form: CaseloadFilterForm, filters: CaseloadFilters) -> QuerySet[Case]:
    """The filtered caseload with what each case needs (and only those that need action, if asked)."""
    cases = caseload_attention(caseload(actor=request.actor, filters=filters))
    needs = form.cleaned_data.get("needs") if form.is_bound and form.is_valid() else ""
    if needs in {"any", "urgent"}:
        cases = caseload_needing_action(cases, urgent_only=needs == "urgent")
    return cases


def _filters(request: StaffRequest) -> tuple[CaseloadFilterForm, CaseloadFilters]:
    form = CaseloadFilterForm(request.GET or None)
    if form.is_valid():
        d = form.cleaned_data
        return form, CaseloadFilters(
            status=d["status"] or "",
            due=d["due"] or "",
            platform=(d["platform"] or "").strip().lower(),
            mine=bool(d["mine"]),
            risk=d["risk"] or "",
            q=d["q"] or "",
            sort=d["sort"] or "-created_at",
        )
    return form, CaseloadFilters()


@require_GET
@staff_required
def case_list(request: StaffRequest) -> HttpResponse:
    form, filters = _filters(request)
    cases = _caseload(request, form, filters)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    rows = [(case, case_attention(case)) for case in page]
    return render(
        request,
        "staff/cases/list.html",
        {
            "filter_form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "bulk_form": BulkForm(actor=request.actor),
        },
    )


@require_GET
@staff_required
def case_export(request: StaffRequest) -> StreamingHttpResponse:
    """The filtered caseload as CSV: references and counts only, no sensitive values."""
    form, filters = _filters(request)
    cases = _caseload(request, form, filters)

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def rows() -> Any:
        yield writer.writerow(
            [
                "reference",
                "status",
                "organisation",
                "assignee",
                "opened",
                "items",
                "removed",
                "next_deadline",
                "needs_action",
                "risks",
            ]
        )
        for case in cases.iterator(chunk_size=500):
            risks = [
                name
                for name, flag in (
                    ("sextortion", case.risk_sextortion),
                    ("doxxing", case.risk_doxxing),
                    ("physical_danger", case.risk_physical_danger),
                )
                if flag
            ]
            yield writer.writerow(
                [
                    case.reference,
                    case.status,
                    case.organization.name if case.organization else "",
                    case.assignee.email if case.assignee else "",
                    case.created_at.isoformat(),
                    case.item_count,  # type: ignore[attr-defined]
                    case.removed_count,  # type: ignore[attr-defined]
                    case.next_deadline_at.isoformat() if case.next_deadline_at else "",
                    " ".join(need.code for need in case_attention(case)),
                    " ".join(risks),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="caseload.csv"'
    return response


@require_POST
@staff_required
def case_bulk(request: StaffRequest) -> HttpResponse:
    form = BulkForm(request.POST, actor=request.actor)
    if not form.is_valid():
        messages.error(request, _("Choose at least one case and an action."))
        return redirect("staff_cases:list")
    done = 0
    for case_id in form.cleaned_data["case_ids"]:
        try:
            case = access_case(request.actor, case_id)
            if form.cleaned_data["action"] == "close":
                services.case_set_status(actor=request.actor, case=case, status=CaseStatus.CLOSED)
            else:
                services.case_assign(actor=request.actor, case=case, assignee_id=form.cleaned_data["assignee"])
            done += 1
        except (NotFound, Conflict, InvalidInput):
            continue
    messages.success(request, _("Updated %(n)d case(s).") % {"n": done})
    return redirect("staff_cases:list")


@require_GET
@staff_required
def case_detail(request: StaffRequest, case_id: int) -> HttpResponse:
    case = access_case(request.actor, case_id)
    return _detail(request, case)


def _detail(request: StaffRequest, case: Case, status: int = 200, **forms: Any) -> HttpResponse:
    members = organization_members(organization_id=case.organization_id) if case.organization_id else []
    return render(
        request,
        "staff/cases/detail.html",
        {
            "case": case,
            "status_text": case_plain_status(case),
            "attention": case_needs(case=case),
            "items": case.items.all(),
            # The platform with each notice: the page names it (one query, not one per notice).
            "notices": case.notices.select_related("platform")[:20],
            "notes": case.notes.select_related("author"),
            "timeline": case_timeline(case=case),
            "hash_items": case.registered_hashes.values("item_id").distinct().count(),
            "sharing": case_sharing_review(case=case),
            "face_templates": case.face_templates.count(),
            "note_form": forms.get("note_form") or NoteForm(),
            "assign_form": forms.get("assign_form")
            or AssignForm(members=members, initial={"assignee": case.assignee_id}),
            "status_form": forms.get("status_form") or StatusForm(initial={"status": case.status}),
            "details_form": forms.get("details_form")
            or DetailsForm(
                initial={
                    "police_reference": case.police_reference or "",
                    "hash_service_reference": case.hash_service_reference or "",
                    "risk_sextortion": case.risk_sextortion,
                    "risk_doxxing": case.risk_doxxing,
                    "risk_physical_danger": case.risk_physical_danger,
                }
            ),
        },
        status=status,
    )


@require_POST
@staff_required
def case_note(request: StaffRequest, case_id: int) -> HttpResponse:
    case = access_case(request.actor, case_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.case_note_add(actor=request.actor, case=case, body=form.cleaned_data["body"])
        except InvalidInput as exc:
            form.add_error("body", exc.message)
        else:
            messages.success(request, _("Note added."))
            return redirect("staff_cases:detail", case_id=case.pk)
    return _detail(request, case, status=400, note_form=form)


@require_POST
@staff_required
def case_vouch(request: StaffRequest, case_id: int) -> HttpResponse:
    """The advocate reviewed the sharing summary and vouches: the case's hashes go to platforms."""
    case = access_case(request.actor, case_id)
    try:
        vouch = services.case_sharing_vouch(actor=request.actor, case=case)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("You vouched for %(hashes)d fingerprints of %(files)d files; they are now shared with platforms.")
            % {"hashes": vouch.hashes, "files": vouch.files},
        )
    return redirect("staff_cases:detail", case_id=case.pk)


@require_POST
@staff_required
def case_assign(request: StaffRequest, case_id: int) -> HttpResponse:
    case = access_case(request.actor, case_id)
    members = organization_members(organization_id=case.organization_id) if case.organization_id else []
    form = AssignForm(request.POST, members=members)
    if form.is_valid():
        try:
            services.case_assign(actor=request.actor, case=case, assignee_id=form.cleaned_data["assignee"])
        except InvalidInput as exc:
            form.add_error("assignee", exc.message)
        else:
            messages.success(request, _("Assignment saved."))
            return redirect("staff_cases:detail", case_id=case.pk)
    return _detail(request, case, status=400, assign_form=form)


@require_POST
@staff_required
def case_status(request: StaffRequest, case_id: int) -> HttpResponse:
    case = access_case(request.actor, case_id)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.case_set_status(actor=request.actor, case=case, status=form.cleaned_data["status"])
        except Conflict as exc:
            form.add_error("status", exc.message)
        else:
            messages.success(request, _("Status saved."))
            return redirect("staff_cases:detail", case_id=case.pk)
    return _detail(request, case, status=400, status_form=form)


@require_http_methods(["GET", "POST"])
@staff_required
def case_open_for_survivor(request: StaffRequest) -> HttpResponse:
    form = RepresentativeCaseForm(request.POST or None, actor=request.actor)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            bundle = services.parse_bundle(d["bundle"]) if d["bundle"].strip() else None
            opened = services.case_open(
                actor=request.actor,
                organization=d["organization"],
                signature_name=d["signature_name"],
                jurisdictions=d["jurisdictions"],
                content_kind=d["content_kind"],
                consent_share_hashes=d["consent_share_hashes"],
                consent_face_matching=d["consent_face_matching"],
                bundle=bundle,
                urls=d["urls"],
                representative={
                    "advocate_user_id": request.actor.user_id,
                    "authorisation": d["authorisation"],
                    "survivor_name": d["survivor_name"],
                },
            )
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            return render(request, "staff/cases/opened.html", {"case": opened.case, "pin": opened.pin})
    return render(request, "staff/cases/open.html", {"form": form})


@require_GET
@staff_required
def metrics(request: StaffRequest) -> HttpResponse:
    return render(request, "staff/cases/metrics.html", {"m": caseload_metrics(actor=request.actor)})


@require_POST
@staff_required
def case_details(request: StaffRequest, case_id: int) -> HttpResponse:
    case = access_case(request.actor, case_id)
    form = DetailsForm(request.POST)
    if form.is_valid():
        services.case_update_details(actor=request.actor, case=case, **form.cleaned_data)
        messages.success(request, _("Details saved."))
        return redirect("staff_cases:detail", case_id=case.pk)
    return _detail(request, case, status=400, details_form=form)


@require_http_methods(["GET", "POST"])
@staff_required
def case_access_recover_view(request: StaffRequest, case_id: int) -> HttpResponse:
    """A survivor lost their PIN: the advocate records the identity checks and gets a new PIN, once."""
    case = access_case(request.actor, case_id)
    form = AccessRecoverForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                pin = case_access_recover(actor=request.actor, case=case, checks=form.cleaned_data["checks"])
            except InvalidInput as exc:
                form.add_error("checks", exc.message)
            else:
                response = render(request, "staff/cases/access_recovered.html", {"case": case, "pin": pin})
                response["Cache-Control"] = "no-store"
                return response
    return render(
        request,
        "staff/cases/access_recover.html",
        {"case": case, "form": form, "required": IDENTITY_CHECKS_REQUIRED},
        status=status,
    )
