"""The staff chokepoint: who may see anything behind the staff pages.

Every staff view is wrapped in `staff_required`, which resolves the actor once, refuses anyone
without an active membership, and sends a member without a second factor to enrol one before any
case data is shown. Object-level checks (`access_case` and friends) build on the resolved actor.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from takedown.core.access import Actor
from takedown.core.models import ActorKind
from takedown.organizations.selectors import membership_organization_ids

StaffView = Callable[..., HttpResponseBase]


def actor_from_request(request: HttpRequest) -> Actor:
    """The staff actor of a web request (from the session), or anonymous.

    It lives here, not in the kernel, because it reads memberships; survivors are resolved by
    `cases.access.survivor_actor` and platforms by `platforms.access`.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor(
            kind=ActorKind.STAFF,
            user_id=user.pk,
            organization_ids=frozenset(membership_organization_ids(user_id=user.pk)),
            mfa_verified=is_mfa_enabled(user),
        )
    return Actor.anonymous()


class StaffRequest(HttpRequest):
    """A request that passed `staff_required`: `actor` is a verified staff member."""

    actor: Actor


def staff_required(view: StaffView) -> StaffView:
    """Require a signed-in member of an organisation with MFA enrolled; sets `request.actor`."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        actor: Actor = actor_from_request(request)
        if not actor.mfa_verified:
            messages.info(request, _("Set up two-factor authentication before you can see any case."))
            return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}")
        if not actor.organization_ids:
            return render(request, "staff/no_organization.html", status=403)
        request.actor = actor  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
