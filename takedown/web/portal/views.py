"""The platform portal (/platform/): a queue of open notices with their deadlines, each notice as
sent, and the same acknowledge and resolve as the API.

Sign-in is with an API key that has the `notices` scope, and the session keeps only the key's id.
Why not staff accounts: a platform is not an advocate organisation, and staff membership is what
grants access to cases; a key is already the platform's credential, with scopes, revocation and
audit. Every page re-checks the key (`access.caller_for_key_id`), so revoking or expiring it ends
the portal session at once. The key is typed into a form over POST and never put in a URL.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from takedown.core.audit import audit_record
from takedown.core.errors import TakedownError
from takedown.notices import services as notice_services
from takedown.notices.models import OPEN_STATUSES, NoticeStatus
from takedown.platforms import access, selectors
from takedown.platforms.access import PlatformCaller
from takedown.platforms.models import Scope

SESSION_KEY = "platform_key_id"
PORTAL_IDLE_SECONDS = 30 * 60


@require_http_methods(["GET", "POST"])
def portal_sign_in(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            caller = access.caller_for_key(request.POST.get("api_key", ""))
            access.require_scope(caller, Scope.NOTICES)
        except TakedownError:
            error = _("That API key is not valid for the portal (it needs the notices scope).")
        else:
            request.session.cycle_key()
            request.session[SESSION_KEY] = caller.key_id
            request.session.set_expiry(PORTAL_IDLE_SECONDS)
            audit_record(
                actor=caller.actor,
                action="portal.signed_in",
                subject_type="api_key",
                subject_id=caller.key_id,
                data={"prefix": caller.key_prefix},
            )
            return HttpResponseRedirect(reverse("platform_portal:queue"))
    return render(request, "platforms/sign_in.html", {"error": error}, status=400 if error else 200)


def _portal_caller(request: HttpRequest) -> PlatformCaller | None:
    """The session's key, still usable and with the notices scope; None signs the portal out."""
    try:
        caller = access.caller_for_key_id(request.session.get(SESSION_KEY))
        access.require_scope(caller, Scope.NOTICES)
    except TakedownError:
        request.session.pop(SESSION_KEY, None)
        return None
    return caller


def portal_queue(request: HttpRequest) -> HttpResponse:
    caller = _portal_caller(request)
    if caller is None:
        return HttpResponseRedirect(reverse("platform_portal:sign_in"))
    now = timezone.now()
    rows = [(n, n.due_at is not None and n.due_at < now) for n in selectors.notices_queue(caller)]
    return render(request, "platforms/queue.html", {"rows": rows, "prefix": caller.key_prefix})


class AcknowledgeForm(forms.Form):
    ticket_id = forms.CharField(label=gettext_lazy("Your ticket or case number"), max_length=200)


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Your decision"),
        choices=[
            (NoticeStatus.REMOVED.value, gettext_lazy("Removed: the content is no longer available")),
            (NoticeStatus.REJECTED.value, gettext_lazy("Rejected: give the reason")),
            (NoticeStatus.NEEDS_INFO.value, gettext_lazy("We need more information: ask your question")),
        ],
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=gettext_lazy("Reason or question (required when rejecting or asking)"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


@require_http_methods(["GET", "POST"])
def portal_notice(request: HttpRequest, notice_id: int) -> HttpResponse:
    """One notice as the platform received it, with acknowledge and resolve.

    The answers go through the API's own checks and services: the key's scope (re-checked on every
    page), its rate limit for each answer, `access_notice` (only notices sent to this platform), and
    `notice_acknowledge` / `notice_resolve`, which keep the transition rules and the re-check of a
    "removed". A refused answer changes nothing and says why.
    """
    caller = _portal_caller(request)
    if caller is None:
        return HttpResponseRedirect(reverse("platform_portal:sign_in"))
    notice = access.access_notice(caller, notice_id)
    ack_form, resolve_form = AcknowledgeForm(), ResolveForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        form: forms.Form = AcknowledgeForm(request.POST) if action == "acknowledge" else ResolveForm(request.POST)
        if action == "acknowledge":
            ack_form = form  # type: ignore[assignment]
        else:
            resolve_form = form  # type: ignore[assignment]
        status = 400
        if form.is_valid():
            try:
                access.rate_limit_count(caller)
                if action == "acknowledge":
                    notice_services.notice_acknowledge(
                        actor=caller.actor, notice=notice, platform_ticket=form.cleaned_data["ticket_id"]
                    )
                    done = _("Acknowledged. Your ticket number is recorded.")
                else:
                    notice_services.notice_resolve(
                        actor=caller.actor,
                        notice=notice,
                        outcome=form.cleaned_data["outcome"],
                        reason=form.cleaned_data["text"],
                    )
                    done = _("Your decision is recorded. Thank you.")
            except TakedownError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                messages.success(request, done)
                return HttpResponseRedirect(reverse("platform_portal:notice", args=[notice.pk]))
    now = timezone.now()
    content = notice.content_json if isinstance(notice.content_json, dict) else {}
    found = content.get("items")
    items: list[Any] = found if isinstance(found, list) else []
    return render(
        request,
        "platforms/notice.html",
        {
            "notice": notice,
            "urls": [i.get("url", "") for i in items if isinstance(i, dict)],
            "media": [m for i in items if isinstance(i, dict) for m in i.get("media") or [] if isinstance(m, dict)],
            "overdue": notice.due_at is not None and notice.due_at < now,
            "can_answer": notice.status in OPEN_STATUSES,
            "can_acknowledge": notice.status == NoticeStatus.SENT,
            "ack_form": ack_form,
            "resolve_form": resolve_form,
            "prefix": caller.key_prefix,
        },
        status=status,
    )


@require_POST
def portal_sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    return HttpResponseRedirect(reverse("platform_portal:sign_in"))
