"""Advocate side of the platform API: clearing a hash held after false-positive reports."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from takedown.cases import services
from takedown.cases.access import access_case
from takedown.core.access import Actor
from takedown.core.errors import Conflict
from takedown.organizations.access import staff_required


@require_POST
@staff_required
def hash_clear_hold(request: HttpRequest, case_id: int, public_id: str) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    case = access_case(actor, case_id)
    try:
        services.feed_entry_clear_hold(actor=actor, case=case, public_id=public_id)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The hash is shared again."))
    return HttpResponseRedirect(reverse("staff_cases:detail", args=[case.pk]))
