"""Per-address limits behind a real reverse proxy (issue 14, defect 5).

Debian's nginx runs on 127.0.0.1 in front of gunicorn, as the production profile assumes, and
appends the address it saw to X-Forwarded-For; gunicorn runs with TRUSTED_PROXY_COUNT=1. Two
people connect from different loopback addresses (127.0.0.2 and 127.0.0.3), so nginx sees two
clients while gunicorn sees only nginx. The one who is locked out must not lock out the other,
and a forged X-Forwarded-For sent by the client must not get past the limit.
"""

from __future__ import annotations

import secrets

import pytest

from takedown.cases import services as case_services
from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.organizations.models import Role
from takedown.organizations.services import organization_create, staff_create
from tests.web.stack import (
    browser_session,
    post_form,
    start_gunicorn,  # noqa: F401 - fixture
    start_nginx,  # noqa: F401 - fixture
    verifications,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.django_db(transaction=True)

ATTACKER, SURVIVOR = "127.0.0.2", "127.0.0.3"


def _random_reference() -> str:
    return case_services.generate_reference()


@pytest.fixture
def proxied(start_gunicorn, start_nginx):  # noqa: F811
    def start(**env: str) -> str:
        backend = start_gunicorn(env={"TRUSTED_PROXY_COUNT": "1", **env})
        return str(start_nginx(backend.url).url)

    return start


def _forged() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}"


def test_a_locked_out_address_does_not_lock_out_survivors_behind_the_same_proxy(proxied) -> None:
    url = proxied()
    opened = case_services.case_open(actor=Actor(kind="survivor"), signature_name="A")
    # The attacker spends the per-address allowance on references that do not exist.
    for _ in range(case_services.PIN_FAILURES_PER_IP):
        client, token = browser_session(url, "/case/sign-in/", source=ATTACKER)
        guess = {"reference": _random_reference(), "pin": "12345678"}
        assert post_form(client, "/case/sign-in/", token, guess).status_code == 404
    client, token = browser_session(url, "/case/sign-in/", source=ATTACKER)
    assert post_form(client, "/case/sign-in/", token, {"reference": _random_reference(), "pin": "1"}).status_code == 429
    # A forged X-Forwarded-For is only the left part of the header nginx passes on: still refused.
    for _ in range(3):
        client, token = browser_session(url, "/case/sign-in/", source=ATTACKER)
        guess = {"reference": _random_reference(), "pin": "1"}
        assert post_form(client, "/case/sign-in/", token, guess, **{"X-Forwarded-For": _forged()}).status_code == 429

    client, token = browser_session(url, "/case/sign-in/", source=SURVIVOR)
    mine = {"reference": opened.case.reference, "pin": opened.pin}
    response = post_form(client, "/case/sign-in/", token, mine)
    assert response.status_code == 302 and response.headers["Location"] == "/case/"


def test_case_opening_is_limited_per_client_not_per_proxy(proxied) -> None:
    url = proxied(CASES_OPENED_PER_ADDRESS_PER_HOUR="2")
    report = {
        "consent_understood": "on",
        "good_faith": "on",
        "content_kind": "unknown",
        "contact_preference": "none",
        "signature_name": "A",
        "urls": "https://example.com/a",
    }
    outcomes = []
    for forged in (None, None, None, _forged()):
        client, token = browser_session(url, "/start/report/", source=ATTACKER)
        headers = {"X-Forwarded-For": forged} if forged else {}
        before = Case.objects.count()
        status = post_form(client, "/start/report/", token, report, **headers).status_code
        outcomes.append((status, Case.objects.count() - before))
    # Two openings (the page with the new reference and PIN, or a redirect to it), then refused.
    assert [opened for _status, opened in outcomes] == [1, 1, 0, 0]
    assert [status for status, _opened in outcomes][2:] == [429, 429]

    client, token = browser_session(url, "/start/report/", source=SURVIVOR)
    assert post_form(client, "/start/report/", token, report).status_code in {200, 302}
    assert Case.objects.count() == 3


def test_staff_sign_in_is_limited_per_client_not_per_proxy(proxied) -> None:
    organization = organization_create(
        actor=Actor.system(), name="Helpline", slug="helpline", kind="helpline", notice_contact_email="c@example.org"
    )
    password = "correct horse battery staple"
    staff_create(
        actor=Actor.system(), organization=organization, email="adv@example.org", password=password, role=Role.ADVOCATE
    )
    url = proxied()
    # Five wrong passwords for five different accounts spend the per-address allowance (5/5m/ip).
    for n in range(5):
        client, token = browser_session(url, "/accounts/login/", source=ATTACKER)
        guess = {"login": f"someone{n}@example.org", "password": "wrong password"}
        assert post_form(client, "/accounts/login/", token, guess).status_code == 200
    for forged in (None, _forged()):
        client, token = browser_session(url, "/accounts/login/", source=ATTACKER)
        headers = {"X-Forwarded-For": forged} if forged else {}
        guess = {"login": "someone9@example.org", "password": "wrong password"}
        assert post_form(client, "/accounts/login/", token, guess, **headers).status_code == 429

    client, token = browser_session(url, "/accounts/login/", source=SURVIVOR)
    response = post_form(client, "/accounts/login/", token, {"login": "adv@example.org", "password": password})
    assert response.status_code == 302
