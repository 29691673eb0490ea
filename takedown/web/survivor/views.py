"""Survivor pages: no account, plain words, quick exit on every page (templates/base.html).

Views parse a form, call one service, and render. Nothing here shows an image: hashes are made
in the browser (static/hashing/) and only the bundle is posted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from takedown.cases import services
from takedown.cases.access import (
    SURVIVOR_PRESENCE_COOKIE,
    access_case,
    access_item,
    survivor_actor,
    survivor_quick_exit,
    survivor_session_current,
    survivor_sign_in,
    survivor_sign_out,
)
from takedown.cases.models import Case
from takedown.cases.selectors import case_survivor_summary
from takedown.core.access import Actor
from takedown.core.errors import Conflict, InvalidInput, NotFound, RateLimited
from takedown.core.http import client_ip
from takedown.matching.selectors import item_check_notes
from takedown.notices.access import access_notice
from takedown.notices.models import NoticeStatus
from takedown.notices.rendering import notice_context, render_context
from takedown.notices.services import notice_approve, notice_contact_choose
from takedown.web.survivor import safety
from takedown.web.survivor.forms import (
    AddHashesForm,
    AddUrlsForm,
    ContactForm,
    FaceMatchingForm,
    FaceMatchingOffForm,
    NoticeContactForm,
    ReportForm,
    ReviewForm,
    SafetyForm,
    SharingForm,
    SignInForm,
    WithdrawForm,
)


def _with_presence(response: HttpResponse, presence: str) -> HttpResponse:
    """Set the survivor's presence cookie (cases.access): readable by the page's script, which deletes
    it on quick exit; it ends with the browser session, like the session cookie."""
    response.set_cookie(
        SURVIVOR_PRESENCE_COOKIE,
        presence,
        httponly=False,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


def _without_presence(response: HttpResponse) -> HttpResponse:
    response.delete_cookie(SURVIVOR_PRESENCE_COOKIE, samesite="Lax")
    return response


@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    form = SafetyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        in_danger = form.cleaned_data["in_danger"] in {"yes", "unsure"}
        if form.cleaned_data["under_18"] in {"yes", "unsure"}:
            # Both answers count: the under-18 page shows the emergency numbers too.
            query = {"danger": "1"} if in_danger else {}
            if form.cleaned_data["country"]:
                query["country"] = form.cleaned_data["country"]
            return redirect(reverse("cases:under_18") + ("?" + urlencode(query) if query else ""))
        if in_danger:
            return redirect("cases:danger")
        return redirect("cases:report")
    return render(request, "cases/start.html", {"form": form})


def _safety_numbers() -> dict[str, Any]:
    return {"emergency_numbers": safety.EMERGENCY_NUMBERS, "helplines": safety.HELPLINES}


def under_18(request: HttpRequest) -> HttpResponse:
    """Services for images of someone under 18, for the country the survivor chose (if any)."""
    country = safety.country_choice(request.GET.get("country"))
    chosen, others = safety.under_18_routes(country)
    context = {
        **_safety_numbers(),
        "in_danger": request.GET.get("danger") == "1",
        "country": country,
        "country_name": dict(safety.COUNTRIES).get(country, ""),
        "countries": safety.COUNTRIES,
        "chosen": chosen,
        "others": others,
        "take_it_down": safety.TAKE_IT_DOWN,
    }
    return render(request, "cases/under_18.html", context)


def danger(request: HttpRequest) -> HttpResponse:
    return render(request, "cases/danger.html", _safety_numbers())


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opened = services.case_open_for_survivor(
                client_ip=client_ip(request),
                bundle_text=data["bundle"],
                signature_name=data["signature_name"],
                jurisdictions=data["jurisdictions"],
                content_kind=data["content_kind"],
                consent_share_hashes=data["consent_share_hashes"],
                contact_preference=data["contact_preference"],
                contact_email=data["contact_email"] or "",
                urls=data["urls"],
                risk_sextortion=data["risk_sextortion"],
                risk_doxxing=data["risk_doxxing"],
                risk_physical_danger=data["risk_physical_danger"],
            )
        except (InvalidInput, RateLimited) as exc:
            form.add_error(None, exc.message)
            status = exc.status_code if isinstance(exc, RateLimited) else 200
        else:
            # The PIN is shown once, in this response, and kept nowhere: not in the session, not in
            # a page that can be asked for again (issue 14). The download is built in the page.
            presence = survivor_sign_in(request, opened.case)
            return _with_presence(_credentials_page(request, opened.case.reference, opened.pin), presence)
    return render(request, "cases/report.html", {"form": form}, status=status)


def _credentials_page(request: HttpRequest, reference: str, pin: str) -> HttpResponse:
    text = _(
        "Takedown case\n\nReference: %(reference)s\nPIN: %(pin)s\n\n"
        "Keep this safe. Nobody, including us, can recover your PIN.\n"
    ) % {"reference": reference, "pin": pin}
    context = {
        "reference": reference,
        "pin": pin,
        "download_href": "data:text/plain;charset=utf-8," + quote(text),
        # The page forgets them (static/js/quick-exit.js) when the session would have ended anyway.
        "forget_after": min(settings.SURVIVOR_SESSION_IDLE_SECONDS, settings.SURVIVOR_SESSION_MAX_SECONDS),
    }
    return render(request, "cases/created.html", context)


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_authenticate(
                reference=form.cleaned_data["reference"], pin=form.cleaned_data["pin"], client_ip=client_ip(request)
            )
        except (NotFound, RateLimited) as exc:
            form.add_error(None, exc.message)
            status = exc.status_code
        else:
            return _with_presence(redirect("cases:home"), survivor_sign_in(request, case))
    context = {"form": form, "help_contact": settings.SURVIVOR_HELP_CONTACT}
    return render(request, "cases/sign_in.html", context, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    survivor_sign_out(request, how="sign_out")
    messages.info(request, _("You are signed out."))
    return _without_presence(redirect("home"))


# The quick-exit control's beacon (static/js/quick-exit.js) carries no CSRF token: it is sent as the
# page is left and may come from any page. Forging it can only sign someone out.
@csrf_exempt
@require_POST
def quick_exit(request: HttpRequest) -> HttpResponse:
    """End the survivor's session on the server as the quick-exit control leaves the site."""
    survivor_quick_exit(request)
    return _without_presence(HttpResponse(status=204))


class SurvivorRequest(HttpRequest):
    """A request that passed `survivor_required`: the signed-in survivor and their case."""

    actor: Actor
    case: Case


def survivor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The survivor pages' chokepoint: a live reference + PIN session, and its case.

    Anyone else (or a session gone idle, or a case deleted meanwhile) is sent to sign in; the
    case is reached only through `access_case`, like every other access to a case.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor = survivor_actor(request)
        if actor is None:
            return redirect("cases:sign_in")
        try:
            case = access_case(actor, actor.case_id)
        except NotFound:
            survivor_sign_out(request)
            return redirect("cases:sign_in")
        if not survivor_session_current(request, case):  # signed in with a PIN since replaced
            survivor_sign_out(request)
            return redirect("cases:sign_in")
        request.actor = actor  # type: ignore[attr-defined]
        request.case = case  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _case_page(request: HttpRequest, actor: Actor, case: Any, status: int = 200, **forms: Any) -> HttpResponse:
    pending = [
        (notice, render_context(notice_context(notice)).text)
        for notice in case.notices.filter(status=NoticeStatus.READY).select_related("platform", "case")
    ]
    summary = case_survivor_summary(case=case)
    notes = item_check_notes(items=summary["items"])
    context = {
        "summary": summary,
        # Each link with the sentence that says why a check could not read it fully (if it could not).
        "item_rows": [(item, notes.get(item.pk, "")) for item in summary["items"]],
        "pending_notices": pending,
        "notices": case.notices.exclude(status__in=[NoticeStatus.DRAFT, NoticeStatus.READY])
        .select_related("platform")
        .order_by("-updated_at"),
        "urls_form": forms.get("urls_form") or AddUrlsForm(),
        "hashes_form": forms.get("hashes_form") or AddHashesForm(),
        "contact_form": forms.get("contact_form")
        or ContactForm(
            initial={
                "contact_preference": case.contact_preference,
                "contact_email": (case.contact_details or {}).get("email", ""),
            }
        ),
    }
    return render(request, "cases/home.html", context, status=status)


@survivor_required
def home(request: SurvivorRequest) -> HttpResponse:
    return _case_page(request, request.actor, request.case)


@require_POST
@survivor_required
def add_urls(request: SurvivorRequest) -> HttpResponse:
    actor, case = request.actor, request.case
    form = AddUrlsForm(request.POST)
    if form.is_valid():
        try:
            added = services.case_add_urls(actor=actor, case=case, urls=form.cleaned_data["urls"])
        except (InvalidInput, RateLimited) as exc:
            form.add_error("urls", exc.message)
        else:
            messages.success(
                request,
                _("Added %(n)d link(s).") % {"n": len(added)} if added else _("Those links were already in your case."),
            )
            return redirect("cases:home")
    return _case_page(request, actor, case, status=400, urls_form=form)


@require_POST
@survivor_required
def add_hashes(request: SurvivorRequest) -> HttpResponse:
    actor, case = request.actor, request.case
    form = AddHashesForm(request.POST)
    if form.is_valid():
        try:
            added = services.case_add_bundle(
                actor=actor, case=case, bundle=services.parse_bundle(form.cleaned_data["bundle"])
            )
        except InvalidInput as exc:
            form.add_error("bundle", exc.message)
        else:
            messages.success(request, _("Added %(n)d photo fingerprint(s).") % {"n": added})
            return redirect("cases:home")
    return _case_page(request, actor, case, status=400, hashes_form=form)


@require_POST
@survivor_required
def change_contact(request: SurvivorRequest) -> HttpResponse:
    actor, case = request.actor, request.case
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            services.case_update_contact(
                actor=actor,
                case=case,
                contact_preference=form.cleaned_data["contact_preference"],
                contact_email=form.cleaned_data["contact_email"] or "",
            )
        except InvalidInput as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your contact preference is saved."))
            return redirect("cases:home")
    return _case_page(request, actor, case, status=400, contact_form=form)


@require_POST
@survivor_required
def approve_notice(request: SurvivorRequest, notice_id: int) -> HttpResponse:
    """The survivor approves a removal request an advocate prepared for them."""
    actor, case = request.actor, request.case
    _case, notice = access_notice(actor, case.pk, notice_id)
    try:
        notice_approve(actor=actor, notice=notice)
    except (Conflict, InvalidInput) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you. Your advocate will send this request now."))
    return redirect("cases:home")


@require_POST
@survivor_required
def notice_contact(request: SurvivorRequest, notice_id: int) -> HttpResponse:
    """For one request awaiting approval: give the website the survivor's own email, or not."""
    actor, case = request.actor, request.case
    _case, notice = access_notice(actor, case.pk, notice_id)
    form = NoticeContactForm(request.POST)
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, errors[0] if errors else _("Please choose one of the two answers."))
        return redirect("cases:home")
    own = form.cleaned_data["use_own_email"]
    try:
        notice_contact_choose(actor=actor, notice=notice, use_own_email=own)
    except (Conflict, InvalidInput) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("This request will give the website your own email address.")
            if own
            else _("This request will give the website the organisation's address, not yours."),
        )
    # No #fragment: the survivor pages' script follows redirects with location.replace, and a
    # fragment on the same page would not load it again (nor show the message).
    return redirect("cases:home")


@require_http_methods(["GET", "POST"])
@survivor_required
def withdraw(request: SurvivorRequest) -> HttpResponse:
    actor, case = request.actor, request.case
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.case_withdraw_and_delete(actor=actor, case=case)
        # Everything goes, not only the sign-in.
        request.session.flush()
        return _without_presence(render(request, "cases/withdrawn.html"))
    return render(request, "cases/withdraw.html", {"form": form})


def _allow_wasm(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """TensorFlow.js compiles face-api's WebAssembly: the one addition to the strict policy, on the
    face-matching page only (without it the models still run on the plain JavaScript backend, several
    times slower). django-csp's decorator is typed for views taking a plain HttpRequest."""
    return csp_update({"script-src": ["'wasm-unsafe-eval'"]})(view)  # type: ignore[return-value]


@require_http_methods(["GET", "POST"])
@survivor_required
@_allow_wasm
def faces(request: SurvivorRequest) -> HttpResponse:
    """Face matching: what a face template is, a separate consent, adding templates (made in the
    browser from portraits that never leave the device, or a file from the command line), turning it off."""
    actor, case = request.actor, request.case
    form = FaceMatchingForm()
    off_form = FaceMatchingOffForm()
    status = 200
    if request.method == "POST" and request.POST.get("action") == "off":
        off_form = FaceMatchingOffForm(request.POST)
        if off_form.is_valid():
            deleted = services.case_face_matching_set(actor=actor, case=case, consent=False)
            messages.success(request, _("Face matching is off. %(n)d face template(s) deleted.") % {"n": deleted})
            return redirect("cases:faces")
        status = 400
    elif request.method == "POST":
        form = FaceMatchingForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                bundle = services.parse_bundle(form.cleaned_data["bundle"])
                added = services.case_face_matching_enable(actor=actor, case=case, bundle=bundle)
            except (InvalidInput, Conflict) as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Face matching is on. Added %(n)d face template(s).") % {"n": added})
                return redirect("cases:faces")
        status = 400
    case.refresh_from_db(fields=["consent_face_matching"])
    context = {
        "case": case,
        "form": form,
        "off_form": off_form,
        "template_count": case.face_templates.count(),
    }
    return render(request, "cases/faces.html", context, status=status)


@require_POST
@survivor_required
def review_item(request: SurvivorRequest, item_id: int) -> HttpResponse:
    """The survivor decides on a link the detectors flagged (it may be a fake image of them)."""
    actor, case = request.actor, request.case
    _case, item = access_item(actor, case.pk, item_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose one of the two answers."))
        return redirect("cases:home")
    try:
        services.item_review_decide(actor=actor, item=item, confirm=form.cleaned_data["decision"] == "confirm")
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Thank you. Your answer is saved."))
    return redirect("cases:home")


@require_POST
@survivor_required
def sharing(request: SurvivorRequest) -> HttpResponse:
    """Stop sharing photo fingerprints with platforms, or start again; nothing is deleted."""
    form = SharingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please choose whether to share."))
        return redirect("cases:home")
    share = form.cleaned_data["share"]
    try:
        services.case_sharing_set(actor=request.actor, case=request.case, share=share)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "Thank you. An advocate looks at your case first; then your photo fingerprints are shared with "
                "websites that block re-uploads."
            )
            if share
            else _("Sharing has stopped. Websites are told to delete your photo fingerprints."),
        )
    return redirect("cases:home")
