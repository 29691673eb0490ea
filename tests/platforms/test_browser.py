"""The platform portal and the API documentation in Chromium, under the site's strict CSP.

The `page` fixture fails the test on any CSP violation; the portal is also checked with axe-core.
The Swagger UI page is third-party markup (drf-spectacular-sidecar), so it is checked for the CSP
and for rendering the schema, not with axe.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from takedown.core.access import Actor
from takedown.organizations.services import organization_create
from takedown.platforms import services
from takedown.platforms.models import ApiKey
from takedown.registry.services import platforms_load
from tests.browser.fixtures import check_accessibility, screenshot
from tests.notices.conftest import open_case, registry_data
from tests.platforms.conftest import account_for, key_for, sent_notice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_portal_queue_with_deadlines(page: Page, live_server: LiveServer) -> None:
    platforms_load(actor=Actor.system(), data=registry_data())
    org = organization_create(
        actor=Actor.system(),
        name="Helpline",
        slug="helpline",
        kind="helpline",
        notice_contact_email="n@helpline.example",
    )
    notice = sent_notice(open_case(organization=org, urls=("https://x.com/someone/status/1",)))
    key = key_for(account_for("x", vetted=False), ["notices"])

    page.goto(live_server.url + "/platform/")
    page.wait_for_url("**/platform/sign-in/")
    assert check_accessibility(page) == []
    page.get_by_label("API key").fill("tdk_live_00000000." + "A" * 43)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/platform/")
    row = page.get_by_role("row").filter(has_text=str(notice.pk)).first
    assert notice.due_at is not None and notice.due_at.strftime("%Y-%m-%d %H:%M") in row.inner_text()
    assert check_accessibility(page) == []
    screenshot(page, "platform-01-queue")

    # Revoking the key ends the portal session at the next page.
    services.api_key_revoke(actor=Actor.system(), key=ApiKey.objects.get(prefix=key.split(".")[0]))
    page.goto(live_server.url + "/platform/")
    page.wait_for_url("**/platform/sign-in/")


def test_api_docs_render_from_local_assets_under_the_csp(page: Page, live_server: LiveServer) -> None:
    outside: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url))
    page.goto(live_server.url + "/api/v1/docs/")
    page.get_by_text("Takedown platform API").first.wait_for(timeout=15_000)
    page.get_by_text("/api/v1/lookup/").first.wait_for(timeout=15_000)
    assert outside == []
    screenshot(page, "platform-02-api-docs")
