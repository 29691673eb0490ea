"""Parallel requests do not get past the limits (issue 14, defect 4).

Each test fires 100 requests at once at a real gunicorn (2 processes x 16 threads) on this run's
PostgreSQL and Redis, from one address, and counts what the server really did: PINs and
passwords verified (the counting hasher, tests/web/counting_hasher.py) and cases opened. Every
attempt must be counted before anything is checked, so at most the limit get through; the right
PIN or password afterwards is refused with 429. One line per test is printed for
bench/parallel_attempts.py (docs/reliability.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import httpx
import pytest
from django.conf import settings

from takedown.cases import services as case_services
from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.organizations.models import Role
from takedown.organizations.services import organization_create, staff_create
from tests.web.stack import (
    VerificationCounter,
    browser_session,
    fire_in_parallel,
    post_form,
    start_gunicorn,  # noqa: F401 - fixture
    verifications,  # noqa: F401 - fixture
)

FIRED = 100


def _figure(limiter: str, *, fired: int, checked: int, succeeded: int, limit: int) -> None:
    print(f"parallel-attempts: {limiter} fired={fired} checked={checked} succeeded={succeeded} limit={limit}")


def _last_after(delay: float, call: Callable[[], httpx.Response]) -> Callable[[], httpx.Response]:
    def delayed() -> httpx.Response:
        time.sleep(delay)
        return call()

    return delayed


def test_parallel_pin_guesses_check_at_most_the_limit(start_gunicorn, verifications: VerificationCounter) -> None:  # noqa: F811
    server = start_gunicorn()
    opened = case_services.case_open(actor=Actor(kind="survivor"), signature_name="A")
    reference, pin = opened.case.reference, opened.pin
    wrong = [f"{(int(pin) + i) % 10**8:08d}" for i in range(1, FIRED)]
    calls = []
    for index in range(FIRED):
        client, token = browser_session(server.url, "/case/sign-in/")
        guess = wrong[index] if index < FIRED - 1 else pin
        call = partial(post_form, client, "/case/sign-in/", token, {"reference": reference, "pin": guess})
        # The right PIN comes last (as an attacker's lucky guess would): by then the limit is spent.
        calls.append(_last_after(0.3, call) if index == FIRED - 1 else call)
    before = verifications.value
    responses = fire_in_parallel(calls)
    checked = verifications.value - before
    signed_in = sum(r.status_code == 302 for r in responses)
    limit = case_services.PIN_FAILURES_PER_REFERENCE
    _figure("survivor-pin", fired=FIRED, checked=checked, succeeded=signed_in, limit=limit)

    # At most the limit of wrong PINs checked, plus the right one if it happened to come early.
    assert checked <= limit + 1, f"{checked} PINs were checked for a limit of {limit}"
    assert sum(r.status_code == 429 for r in responses) >= FIRED - limit - 1
    client, token = browser_session(server.url, "/case/sign-in/")
    after = post_form(client, "/case/sign-in/", token, {"reference": reference, "pin": pin})
    assert after.status_code == 429


REPORT = {
    "consent_understood": "on",
    "good_faith": "on",
    "content_kind": "unknown",
    "contact_preference": "none",
    "signature_name": "A",
    "urls": "https://example.com/a",
}


def test_parallel_case_openings_open_at_most_the_limit(start_gunicorn, verifications: VerificationCounter) -> None:  # noqa: F811
    limit = 10
    server = start_gunicorn(env={"CASES_OPENED_PER_ADDRESS_PER_HOUR": str(limit)})
    calls = []
    for _ in range(FIRED):
        client, token = browser_session(server.url, "/start/report/")
        calls.append(partial(post_form, client, "/start/report/", token, REPORT))
    responses = fire_in_parallel(calls)
    opened = Case.objects.count()
    _figure("case-opening", fired=FIRED, checked=opened, succeeded=opened, limit=limit)

    assert opened <= limit, f"{opened} cases opened from one address for a limit of {limit}"
    # An opened case answers with its reference and PIN (or a redirect to them); a refused one 429.
    assert sum(r.status_code in {200, 302} for r in responses) == opened
    assert sum(r.status_code == 429 for r in responses) == FIRED - opened
    client, token = browser_session(server.url, "/start/report/")
    assert post_form(client, "/start/report/", token, REPORT).status_code == 429
    assert Case.objects.count() == opened


def test_parallel_staff_password_guesses_check_at_most_the_limit(
    start_gunicorn,  # noqa: F811
    verifications: VerificationCounter,  # noqa: F811
) -> None:
    organization = organization_create(
        actor=Actor.system(), name="Helpline", slug="helpline", kind="helpline", notice_contact_email="c@example.org"
    )
    password = "correct horse battery staple"
    staff_create(
        actor=Actor.system(), organization=organization, email="adv@example.org", password=password, role=Role.ADVOCATE
    )
    server = start_gunicorn()
    calls = []
    for index in range(FIRED):
        client, token = browser_session(server.url, "/accounts/login/")
        guess = f"wrong-{index}" if index < FIRED - 1 else password
        call = partial(post_form, client, "/accounts/login/", token, {"login": "adv@example.org", "password": guess})
        calls.append(_last_after(0.3, call) if index == FIRED - 1 else call)
    before = verifications.value
    responses = fire_in_parallel(calls)
    checked = verifications.value - before
    signed_in = sum(r.status_code == 302 for r in responses)
    limit = 5  # ACCOUNT_RATE_LIMITS["login_failed"]: 5/5m per address and per account
    _figure("staff-sign-in", fired=FIRED, checked=checked, succeeded=signed_in, limit=limit)

    assert checked <= limit + 1, f"{checked} passwords were checked for a limit of {limit}"
    client, token = browser_session(server.url, "/accounts/login/")
    after = post_form(client, "/accounts/login/", token, {"login": "adv@example.org", "password": password})
    assert after.status_code == 429
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"].startswith(f"{limit}/")


pytestmark = pytest.mark.django_db(transaction=True)
