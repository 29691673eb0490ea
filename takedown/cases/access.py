"""The one chokepoint through which any request reaches a case.

`access_case(actor, case_id)` applies every rule: a survivor reaches only the case they signed in
to; staff reach cases of their own organisations, and only with MFA enrolled; nobody else reaches
any. Missing and forbidden look the same (`NotFound`). Every staff access is recorded.

Survivor sessions: signing in with reference + PIN stores the case id and a time in the session;
it expires after `SURVIVOR_SESSION_IDLE_SECONDS` of inactivity and, however active, after
`SURVIVOR_SESSION_MAX_SECONDS`, so a shared or seized device does not stay signed in.

A survivor session also needs its presence cookie (`SURVIVOR_PRESENCE_COOKIE`, readable by the
page's script, unlike the session cookie): the quick-exit control deletes it before leaving, so
the session is unusable even when the request that ends it on the server is lost (issue 14).
"""

from __future__ import annotations

import hmac
import secrets
import time

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

from takedown.cases.digests import keyed_digest
from takedown.cases.models import Case, CaseStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.audit import audit_record
from takedown.core.errors import NotFound
from takedown.core.models import ActorKind

SURVIVOR_SESSION_KEY = "survivor_case"
#: Set at survivor sign-in, not HttpOnly: static/js/quick-exit.js deletes it when the survivor leaves.
SURVIVOR_PRESENCE_COOKIE = "td_presence"


def survivor_pin_mark(case: Case) -> str:
    """A keyed digest of the case's current PIN hash: a session signed in with an old PIN (before an
    advocate issued a new one) no longer matches it."""
    return keyed_digest("survivor-session-pin", case.pin_hash)[:24]


def _presence_mark(token: str) -> str:
    return keyed_digest("survivor-presence", token)[:24]


def survivor_sign_in(request: HttpRequest, case: Case) -> str:
    """Sign the survivor in; returns the presence token the response must set as
    `SURVIVOR_PRESENCE_COOKIE` (the session keeps only its digest)."""
    request.session.cycle_key()  # a new session id at sign-in: no fixation
    now = time.time()
    presence = secrets.token_urlsafe(18)
    request.session[SURVIVOR_SESSION_KEY] = {
        "id": case.pk,
        "seen": now,
        "since": now,
        "pin": survivor_pin_mark(case),
        "presence": _presence_mark(presence),
    }
    return presence


def survivor_session_current(request: HttpRequest, case: Case) -> bool:
    """Whether the survivor's session was signed in with the case's current PIN."""
    data = request.session.get(SURVIVOR_SESSION_KEY)
    return isinstance(data, dict) and data.get("pin") == survivor_pin_mark(case)


def survivor_sign_out(request: HttpRequest, *, how: str | None = None) -> None:
    """End the survivor's sign-in; `how` ("sign_out", "quick_exit") puts it on the case's timeline."""
    data = request.session.pop(SURVIVOR_SESSION_KEY, None)
    request.session.cycle_key()
    if how is not None and isinstance(data, dict):
        _signed_out(data.get("id"), how)


def survivor_quick_exit(request: HttpRequest) -> None:
    """The quick-exit control was pressed: everything in the session goes, and the timeline says so.

    Reads the session directly, not through `survivor_actor`: the page may already have deleted
    the presence cookie, and leaving must work even from a session gone idle.
    """
    data = request.session.get(SURVIVOR_SESSION_KEY)
    request.session.flush()
    if isinstance(data, dict):
        _signed_out(data.get("id"), "quick_exit")


def _signed_out(case_id: object, how: str) -> None:
    if not isinstance(case_id, int):
        return
    case = Case.objects.filter(pk=case_id).only("pk", "organization_id").first()
    if case is not None:
        audit_record(
            actor=Actor(kind=ActorKind.SURVIVOR, case_id=case.pk),
            action="case.survivor_signed_out",
            subject_type="case",
            subject_id=case.pk,
            organization_id=case.organization_id,
            data={"how": how},
        )


def survivor_actor(request: HttpRequest) -> Actor | None:
    """The signed-in survivor, or None when not signed in or the session went idle."""
    data = request.session.get(SURVIVOR_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    now = time.time()
    idle = now - float(data.get("seen", 0)) > settings.SURVIVOR_SESSION_IDLE_SECONDS
    too_long = now - float(data.get("since", 0)) > settings.SURVIVOR_SESSION_MAX_SECONDS
    # No presence cookie, or another one: the quick exit deleted it (its request to end the session
    # may have been lost), so this session is over.
    presence = request.COOKIES.get(SURVIVOR_PRESENCE_COOKIE, "")
    left = not presence or not hmac.compare_digest(str(data.get("presence", "")), _presence_mark(presence))
    if idle or too_long or left:
        request.session.pop(SURVIVOR_SESSION_KEY, None)
        return None
    data["seen"] = now
    request.session[SURVIVOR_SESSION_KEY] = data
    return Actor(kind=ActorKind.SURVIVOR, case_id=int(data["id"]))


def access_case(actor: Actor, case_id: int | str | None) -> Case:
    not_found = NotFound(_("We could not find that case."))
    try:
        pk = int(case_id) if case_id is not None else None
    except (TypeError, ValueError):
        raise not_found from None
    if pk is None:
        raise not_found
    if actor.kind == ActorKind.SURVIVOR:
        if actor.case_id != pk:
            raise not_found
        case = Case.objects.filter(pk=pk).exclude(status=CaseStatus.WITHDRAWN).select_related("organization").first()
    elif actor.kind == ActorKind.STAFF and actor.mfa_verified and actor.organization_ids:
        # A withdrawn case is gone for everyone at once; its rows are being erased by a task.
        case = (
            Case.objects.filter(pk=pk, organization_id__in=actor.organization_ids)
            .exclude(status=CaseStatus.WITHDRAWN)
            .select_related("organization", "assignee")
            .first()
        )
        if case is not None:
            audit_record(
                actor=actor,
                action="case.viewed",
                subject_type="case",
                subject_id=case.pk,
                organization_id=case.organization_id,
            )
    else:
        case = None
    if case is None:
        raise not_found
    return case


def access_item(actor: Actor, case_id: int | str | None, item_id: int | str | None) -> tuple[Case, ReportedItem]:
    """A reported item, reached only through its case's access check."""
    case = access_case(actor, case_id)
    try:
        item = case.items.filter(pk=int(item_id)).first() if item_id is not None else None
    except (TypeError, ValueError):
        item = None
    if item is None:
        raise NotFound(_("We could not find that link."))
    return case, item
