"""The demo data the run command loads lets a newcomer sign in with what it prints."""

from __future__ import annotations

import io
import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management import call_command
from django.test import Client

from tests.demo.conftest import demo  # noqa: F401 - the demo's settings, registry and demo site port
from tests.organizations.test_staff_access import current_code

# The seed's cases are checked on commit against the demo site, as in use.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.usefixtures("demo")
def test_demo_seed_prints_credentials_that_work(client: Client) -> None:
    out = io.StringIO()
    call_command("demo_seed", stdout=out)
    call_command("demo_seed", stdout=io.StringIO())  # idempotent
    text = out.getvalue()
    code_out = io.StringIO()
    before = int(time.time()) // 30
    call_command("demo_totp_code", stdout=code_out)
    after = int(time.time()) // 30
    email = re.search(r"email:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    password = re.search(r"password:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    secret = re.search(r"TOTP secret:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
    printed = code_out.getvalue().strip()
    assert printed in {format_hotp_value(hotp_value(secret, counter)) for counter in (before, after)}

    response = client.post("/accounts/login/", {"login": email, "password": password})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    page = client.get("/staff/")
    assert page.status_code == 200
    assert "Demo Helpline" in page.content.decode()
