"""The advocate's notice and evidence pages in Chromium: accessible, no CSP violation, screenshots."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from takedown.cases import services
from takedown.core.access import Actor
from takedown.notices.services import notice_draft, notice_mark_ready
from takedown.organizations.services import organization_create, staff_create
from tests.browser.fixtures import check_accessibility, screenshot
from tests.conftest import totp_code
from tests.notices.conftest import registry_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_notice_and_evidence_pages(page: Page, live_server: LiveServer) -> None:
    from takedown.registry.services import platforms_load

    platforms_load(actor=Actor.system(), data=registry_data())
    org = organization_create(
        actor=Actor.system(),
        name="Helpline",
        slug="helpline",
        kind="helpline",
        notice_contact_email="n@helpline.example",
    )
    user = staff_create(
        actor=Actor.system(), organization=org, email="adv@h.org", password="correct horse battery staple"
    )
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    case = services.case_open(
        actor=Actor.system(),
        signature_name="Alex Example",
        organization=org,
        jurisdictions=["US"],
        urls=["https://x.com/someone/status/1"],
    ).case
    item = case.items.get()
    staff = Actor(kind="staff", mfa_verified=True)
    notice = notice_mark_ready(actor=staff, notice=notice_draft(actor=staff, case=case, items=[item]))

    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill("adv@h.org")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/accounts/2fa/authenticate/**")
    page.get_by_role("textbox", name="Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/staff/")

    for name, path in [
        ("advocate-06-item-evidence", f"/staff/cases/{case.pk}/items/{item.pk}/"),
        ("advocate-07-notice", f"/staff/cases/{case.pk}/notices/{notice.pk}/"),
        ("advocate-08-notices", f"/staff/cases/{case.pk}/notices/"),
    ]:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
        screenshot(page, name)
        assert check_accessibility(page) == [], name
