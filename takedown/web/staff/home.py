"""Staff pages. Thin: resolve the actor (decorator), call a selector, render."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from takedown.organizations.access import StaffRequest, staff_required
from takedown.organizations.selectors import memberships_for_user


@require_GET
@staff_required
def staff_home(request: StaffRequest) -> HttpResponse:
    assert request.actor.user_id is not None  # staff_required guarantees a signed-in user
    memberships = memberships_for_user(user_id=request.actor.user_id)
    return render(request, "staff/home.html", {"memberships": memberships})
