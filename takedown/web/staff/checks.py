"""Advocate pages for checks: check an item now, read its evidence, export the case's evidence."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from takedown.cases.access import access_case, access_item
from takedown.cases.selectors import cases_flagged_for_volume, cases_held_for_sharing
from takedown.cases.services import item_review_decide
from takedown.core.errors import Conflict
from takedown.matching.evidence import evidence_export, evidence_verify
from takedown.matching.models import OPEN_CHECK_STATES, CheckState, CheckTrigger
from takedown.matching.selectors import items_needing_review
from takedown.matching.services import check_match_confirm, item_check_request
from takedown.notices.selectors import notices_needing_second_review
from takedown.organizations.access import StaffRequest, staff_required
from takedown.web.survivor.forms import ReviewForm


@require_POST
@staff_required
def item_check_now(request: StaffRequest, case_id: int, item_id: int) -> HttpResponse:
    case, item = access_item(request.actor, case_id, item_id)
    item_check_request(actor=request.actor, item=item, trigger=CheckTrigger.MANUAL)
    messages.success(request, _("Check requested. The result appears below when it is done."))
    return redirect("staff_cases:item", case_id=case.pk, item_id=item.pk)


@require_GET
@staff_required
def item_evidence(request: StaffRequest, case_id: int, item_id: int) -> HttpResponse:
    case, item = access_item(request.actor, case_id, item_id)
    checks = item.checks.order_by("-created_at").prefetch_related("media")[:50]
    return render(
        request,
        "staff/cases/item.html",
        {
            "case": case,
            "item": item,
            "checks": checks,
            "open_check": item.checks.filter(state__in=OPEN_CHECK_STATES).order_by("-created_at").first(),
            "chain_problems": evidence_verify(case.pk),
        },
    )


@require_GET
@staff_required
def item_check_status(request: StaffRequest, case_id: int, item_id: int) -> JsonResponse:
    """Where the link's check stands, for the item page's progress line (static/js/check-status.js)."""
    _case, item = access_item(request.actor, case_id, item_id)
    open_check = item.checks.filter(state__in=OPEN_CHECK_STATES).order_by("-created_at").first()
    last = None if open_check else item.checks.filter(state=CheckState.DONE).order_by("-finished_at", "-id").first()
    response = JsonResponse(
        {
            "running": open_check is not None,
            "step": open_check.get_state_display() if open_check else "",
            "result": (last.get_verdict_display() if last and last.verdict else item.get_status_display()),
            "item_status": item.get_status_display(),
            "last_checked_at": item.last_checked_at.isoformat() if item.last_checked_at else None,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@staff_required
def case_evidence_export(request: StaffRequest, case_id: int) -> JsonResponse:
    case = access_case(request.actor, case_id)
    response = JsonResponse(evidence_export(case.pk), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="evidence-{case.reference}.json"'
    return response


@require_GET
@staff_required
def review_queue(request: StaffRequest) -> HttpResponse:
    """Links flagged by detectors alone (possible deepfakes): a person decides before any notice."""
    return render(
        request,
        "staff/cases/review.html",
        {
            "items": items_needing_review(actor=request.actor),
            "volume_cases": cases_flagged_for_volume(actor=request.actor),
            "held_cases": cases_held_for_sharing(actor=request.actor),
            "notices": notices_needing_second_review(organization_ids=request.actor.organization_ids),
        },
    )


@require_POST
@staff_required
def item_review(request: StaffRequest, case_id: int, item_id: int) -> HttpResponse:
    case, item = access_item(request.actor, case_id, item_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the link shows the survivor."))
    else:
        try:
            item_review_decide(actor=request.actor, item=item, confirm=form.cleaned_data["decision"] == "confirm")
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your review is saved."))
    if request.POST.get("next") == "queue":
        return redirect("staff_cases:review")
    return redirect("staff_cases:item", case_id=case.pk, item_id=item.pk)


@require_POST
@staff_required
def item_match_confirm(request: StaffRequest, case_id: int, item_id: int) -> HttpResponse:
    """The advocate confirms a check's match: the matched picture's fingerprints go to platforms."""
    case, item = access_item(request.actor, case_id, item_id)
    try:
        hashes = check_match_confirm(actor=request.actor, item=item, check_id=request.POST.get("check_id", ""))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Match confirmed: %(n)d fingerprints of this picture are now shared with platforms.") % {"n": hashes},
        )
    return redirect("staff_cases:item", case_id=case.pk, item_id=item.pk)
