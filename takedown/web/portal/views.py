"""The platform portal (/platform/): a queue of open notices with their deadlines.

Sign-in is with an API key that has the `notices` scope, and the session keeps only the key's id.
Why not staff accounts: a platform is not an advocate organisation, and staff membership is what
grants access to cases; a key is already the platform's credential, with scopes, revocation and
audit. Every page re-checks the key (`access.caller_for_key_id`), so revoking or expiring it ends
the portal session at once. The key is typed into a form over POST and never put in a URL.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from takedown.core.audit import audit_record
from takedown.core.errors import TakedownError
from takedown.platforms import access, selectors
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


def portal_queue(request: HttpRequest) -> HttpResponse:
    try:
        caller = access.caller_for_key_id(request.session.get(SESSION_KEY))
        access.require_scope(caller, Scope.NOTICES)
    except TakedownError:
        request.session.pop(SESSION_KEY, None)
        return HttpResponseRedirect(reverse("platform_portal:sign_in"))
    now = timezone.now()
    rows = [(n, n.due_at is not None and n.due_at < now) for n in selectors.notices_queue(caller)]
    return render(request, "platforms/queue.html", {"rows": rows, "prefix": caller.key_prefix})


@require_POST
def portal_sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    return HttpResponseRedirect(reverse("platform_portal:sign_in"))
