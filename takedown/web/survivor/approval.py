"""The survivor's side of the second-person approval loop: declining a request they were asked about.

Approving is `views.approve_notice`. Both are reached from the list on the case page
(`templates/cases/_notice_approval.html`, rendered by the `survivor_approvals` tag), and both reach
the notice through the case's chokepoint, so a survivor can answer only for their own case.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from takedown.core.errors import Conflict, InvalidInput
from takedown.notices.access import access_notice
from takedown.notices.services import notice_decline
from takedown.notices.services.lifecycle import MAX_SURVIVOR_COMMENT
from takedown.web.survivor.views import SurvivorRequest, survivor_required


class DeclineForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("What should change? (optional, only your advocate reads it)"),
        required=False,
        max_length=MAX_SURVIVOR_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@require_POST
@survivor_required
def decline_notice(request: SurvivorRequest, notice_id: int) -> HttpResponse:
    """The survivor says no to a request; their advocate sees the answer and what they wrote."""
    _case, notice = access_notice(request.actor, request.case.pk, notice_id)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Please keep your message shorter (at most %(n)d characters).") % {"n": MAX_SURVIVOR_COMMENT}
        )
        return redirect("cases:home")
    try:
        notice_decline(actor=request.actor, notice=notice, comment=form.cleaned_data["comment"])
    except (Conflict, InvalidInput) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your answer is saved. This request will not be sent. Your advocate will see it."))
    return redirect("cases:home")
