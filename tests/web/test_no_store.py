"""Every response that carries case data is `Cache-Control: no-store`, whatever its type (issue 14,
defect 7): notice and case-report PDFs, CSV exports, the evidence file and the platforms' feed
export used to be cacheable, because only HTML and JSON were marked."""

from __future__ import annotations

import pytest

from takedown.core.access import Actor
from takedown.notices.services import notice_mark_submitted
from takedown.organizations.models import Organization
from tests.cases.conftest import org_a, staff_client  # noqa: F401 - the org_a fixture
from tests.notices.conftest import approved_notice, open_case, registry  # noqa: F401 - the registry fixture
from tests.platforms.conftest import account_for, api_client, consented_case, key_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)


def test_staff_downloads_are_no_store(org_a: Organization) -> None:  # noqa: F811 - the org_a fixture
    org_a.trusted_flagger = True
    org_a.notice_contact_email = "notices@a.example"
    org_a.save(update_fields=["trusted_flagger", "notice_contact_email"])
    case = open_case(organization=org_a, jurisdictions=["EU"], urls=["https://x.com/someone/status/1"])
    notice = notice_mark_submitted(actor=STAFF, notice=approved_notice(case), platform_ticket="T-1")
    client = staff_client(org_a, "advocate@a.example")
    downloads = {
        f"/staff/cases/{case.pk}/report.pdf": "application/pdf",
        f"/staff/cases/{case.pk}/notices/{notice.pk}/notice.pdf": "application/pdf",
        "/staff/cases/export.csv": "text/csv",
        "/staff/cases/trusted-flagger-report.csv": "text/csv",
        f"/staff/cases/{case.pk}/evidence.json": "application/json",
    }
    for path, kind in downloads.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith(kind), path
        assert response["Cache-Control"] == "no-store", path


def test_feed_export_is_no_store() -> None:
    consented_case(1)
    key = key_for(account_for("x", vetted=True), ["feed"])
    response = api_client(key).get("/api/v1/feed/export.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "no-store"
