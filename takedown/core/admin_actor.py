"""The actor of an admin request, for the services the admin calls (imported by `admin.py` modules)."""

from __future__ import annotations

from django.http import HttpRequest

from takedown.core.access import Actor
from takedown.core.models import ActorKind


def admin_actor(request: HttpRequest) -> Actor:
    """The administrator as the actor services record (the admin requires MFA, so it is verified).

    The admin is an interface like the pages: state fields are read-only there, and every change
    goes through a service (an admin action, or `save_model` calling one), so it is audited and
    its effects (the feed kept in step) happen as they do from the pages.
    """
    return Actor(kind=ActorKind.STAFF, user_id=request.user.pk, mfa_verified=True)
