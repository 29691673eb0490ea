"""Helpers for page tests: a survivor signed in to a case without going through the PIN form."""

from __future__ import annotations

import secrets
import time

from django.test import Client

from takedown.cases.access import SURVIVOR_PRESENCE_COOKIE, SURVIVOR_SESSION_KEY, _presence_mark, survivor_pin_mark
from takedown.cases.models import Case


def survivor_sign_in_session(client: Client, case_id: int) -> None:
    """What `survivor_sign_in` leaves in the session (and the presence cookie the quick exit
    deletes), for tests that are not about signing in."""
    session = client.session
    now = time.time()
    mark = survivor_pin_mark(Case.objects.get(pk=case_id))
    presence = secrets.token_urlsafe(18)
    session[SURVIVOR_SESSION_KEY] = {
        "id": case_id,
        "seen": now,
        "since": now,
        "pin": mark,
        "presence": _presence_mark(presence),
    }
    session.save()
    client.cookies[SURVIVOR_PRESENCE_COOKIE] = presence
