"""Helpers for page tests: a survivor signed in to a case without going through the PIN form."""

from __future__ import annotations

import time

from django.test import Client

from takedown.cases.access import SURVIVOR_SESSION_KEY, survivor_pin_mark
from takedown.cases.models import Case


def survivor_sign_in_session(client: Client, case_id: int) -> None:
    """What `survivor_sign_in` leaves in the session, for tests that are not about signing in."""
    session = client.session
    now = time.time()
    mark = survivor_pin_mark(Case.objects.get(pk=case_id))
    session[SURVIVOR_SESSION_KEY] = {"id": case_id, "seen": now, "since": now, "pin": mark}
    session.save()
