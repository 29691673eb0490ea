"""Issue 14, defects 2 and 3 over HTTP: the PIN is shown once and stored nowhere in clear; quick exit
ends the session on the server, and a session whose presence cookie the page deleted is over even
when that request was lost; form posts made by the pages' script leave no redirect to follow."""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from takedown.cases.access import SURVIVOR_PRESENCE_COOKIE, SURVIVOR_SESSION_KEY
from takedown.cases.models import Case
from takedown.core.models import AuditEvent
from tests.cases.test_survivor_pages import open_case, report_data

pytestmark = pytest.mark.django_db

SURVIVOR_PAGES = ["/", "/start/", "/start/report/", "/case/", "/case/sign-in/", "/case/withdraw/", "/start/created/"]


def session_texts() -> list[str]:
    """Every django_session row, raw and decoded."""
    texts = []
    for row in Session.objects.all():
        texts.append(row.session_data)
        texts.append(repr(SessionStore().decode(row.session_data)))
    return texts


def pin_shown_anywhere(client: Client, pin: str) -> list[str]:
    return [path for path in SURVIVOR_PAGES if pin in client.get(path, follow=True).content.decode()]


def test_the_pin_is_in_the_answer_to_the_report_and_nowhere_else() -> None:
    client = Client()
    response = client.post("/start/report/", report_data())
    assert response.status_code == 200
    html = response.content.decode()
    reference, pin = open_case_values(html)
    # Device advice comes before the PIN, which is behind a control; the download is built in the page.
    assert html.index('data-testid="device-advice"') < html.index('data-testid="pin"')
    assert "<details" in html and "data:text/plain;charset=utf-8," in html
    assert response["Cache-Control"] == "no-store"
    # Nothing kept in clear: not in any session row, and no page can be asked for it again.
    assert Session.objects.exists()
    assert not [text for text in session_texts() if pin in text]
    assert Case.objects.get(reference=reference).pin_hash != pin
    assert client.get("/start/created/").status_code == 404
    assert client.get("/start/created/download/").status_code == 404
    assert pin_shown_anywhere(client, pin) == []


def open_case_values(html: str) -> tuple[str, str]:
    reference = re.search(r'data-testid="reference">([^<]+)<', html).group(1)  # type: ignore[union-attr]
    pin = re.search(r'data-testid="pin">([^<]+)<', html).group(1)  # type: ignore[union-attr]
    return reference, pin


def test_after_sign_out_nothing_shows_the_pin() -> None:
    client = Client()
    _reference, pin = open_case(client)
    assert client.post("/case/sign-out/").status_code == 302
    assert pin_shown_anywhere(client, pin) == []
    assert client.get("/case/")["Location"] == "/case/sign-in/"


@override_settings(SURVIVOR_SESSION_IDLE_SECONDS=0)
def test_after_the_idle_limit_nothing_shows_the_pin() -> None:
    client = Client()
    _reference, pin = open_case(client)
    assert pin_shown_anywhere(client, pin) == []


@override_settings(SURVIVOR_SESSION_MAX_SECONDS=0)
def test_after_the_maximum_length_nothing_shows_the_pin() -> None:
    client = Client()
    _reference, pin = open_case(client)
    assert pin_shown_anywhere(client, pin) == []


@pytest.mark.parametrize("limit", ["SURVIVOR_SESSION_IDLE_SECONDS", "SURVIVOR_SESSION_MAX_SECONDS"])
def test_the_pin_page_forgets_it_when_the_session_would_end(settings, limit: str) -> None:  # type: ignore[no-untyped-def]
    setattr(settings, limit, 90)
    html = Client().post("/start/report/", report_data()).content.decode()
    assert 'data-forget-after="90"' in html  # static/js/quick-exit.js removes it then (browser test)


def test_quick_exit_ends_the_session_on_the_server_and_is_on_the_timeline() -> None:
    client = Client()
    reference, _pin = open_case(client)
    case = Case.objects.get(reference=reference)
    assert client.get("/case/").status_code == 200
    # The beacon: no CSRF token, no body.
    beacon = Client(enforce_csrf_checks=True)
    beacon.cookies = client.cookies
    response = beacon.post("/case/exit/")
    assert response.status_code == 204
    assert not [text for text in session_texts() if SURVIVOR_SESSION_KEY in text]
    assert client.get("/case/")["Location"] == "/case/sign-in/"
    event = AuditEvent.objects.get(action="case.survivor_signed_out", subject_id=str(case.pk))
    assert event.data == {"how": "quick_exit"}


def test_a_session_without_its_presence_cookie_is_signed_out() -> None:
    """The beacon was lost; the page deleted the presence cookie as it left."""
    client = Client()
    open_case(client)
    assert client.get("/case/").status_code == 200
    del client.cookies[SURVIVOR_PRESENCE_COOKIE]
    response = client.get("/case/")
    assert response.status_code == 302 and response["Location"] == "/case/sign-in/"
    # And the session no longer holds the sign-in, so putting a cookie back does not help.
    client.cookies[SURVIVOR_PRESENCE_COOKIE] = "guessed"
    assert client.get("/case/").status_code == 302
    assert not [text for text in session_texts() if SURVIVOR_SESSION_KEY in text]


def test_the_presence_cookie_is_readable_by_the_page_and_the_session_cookie_is_not() -> None:
    client = Client()
    response = client.post("/start/report/", report_data())
    presence = response.cookies[SURVIVOR_PRESENCE_COOKIE]
    assert presence.value and not presence["httponly"] and presence["samesite"] == "Lax"
    assert response.cookies["sessionid"]["httponly"]


def test_posts_made_by_the_page_script_get_no_redirect() -> None:
    client = Client()
    reference, pin = open_case(client)
    client.post("/case/sign-out/")
    response = client.post("/case/sign-in/", {"reference": reference, "pin": pin}, headers={"X-Takedown-Fetch": "1"})
    assert response.status_code == 204 and response["X-Takedown-Location"] == "/case/"
    assert "Location" not in response
    assert response.cookies[SURVIVOR_PRESENCE_COOKIE].value  # cookies still set
    assert client.get("/case/").status_code == 200
    # Without the header (no JavaScript) it is the ordinary Post/Redirect/Get.
    client.post("/case/sign-out/")
    assert client.post("/case/sign-in/", {"reference": reference, "pin": pin}).status_code == 302
