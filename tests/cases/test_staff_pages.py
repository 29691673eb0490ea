"""Advocate pages: caseload filters without N+1, case page, notes, assignment, bulk, CSV, metrics."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from takedown.cases import services
from takedown.cases.models import Case, CaseNote, CaseStatus, ItemStatus, ReportedItem
from takedown.core.access import Actor
from takedown.core.models import AuditEvent
from takedown.organizations.models import Organization
from tests.cases.conftest import bundle_text, shared_photo, staff_client

pytestmark = pytest.mark.django_db


def make_case(org: Organization, *, urls: tuple[str, ...] = ("https://example.com/x",), **kwargs: object) -> Case:
    return services.case_open(
        actor=Actor.system(),
        signature_name="S",
        organization=org,
        urls=list(urls),
        **kwargs,  # type: ignore[arg-type]
    ).case


def test_caseload_lists_only_own_organisation_with_constant_queries(org_a: Organization, org_b: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    for i in range(3):
        make_case(org_a, urls=(f"https://site{i}.example/x",))
    foreign = make_case(org_b)
    client.get("/staff/cases/")  # warm up session and caches
    with CaptureQueriesContext(connection) as few:
        response = client.get("/staff/cases/")
    assert response.status_code == 200
    html = response.content.decode()
    assert foreign.reference not in html
    assert html.count('name="case_ids"') == 3
    for i in range(20):
        make_case(org_a, urls=(f"https://more{i}.example/x",))
    with CaptureQueriesContext(connection) as many:
        client.get("/staff/cases/")
    assert len(many.captured_queries) == len(few.captured_queries)  # no N+1


def test_filters_status_risk_mine_platform_due_and_search(org_a: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    from django.contrib.auth import get_user_model

    me = get_user_model().objects.get(email="adv@a.org")
    risky = make_case(org_a, urls=("https://tube.example/v",), risk_sextortion=True)
    closed = make_case(org_a, urls=("https://pics.example/p",))
    services.case_set_status(actor=Actor.system(), case=closed, status=CaseStatus.CLOSED)
    mine = make_case(org_a, urls=("https://other.example/q",))
    services.case_assign(actor=Actor.system(), case=mine, assignee_id=me.pk)
    Case.objects.filter(pk=risky.pk).update(next_deadline_at=timezone.now() - timedelta(hours=1))
    Case.objects.filter(pk=mine.pk).update(next_deadline_at=timezone.now() + timedelta(hours=3))

    def refs(query: str) -> set[str]:
        html = client.get(f"/staff/cases/?{query}").content.decode()
        return {c.reference for c in (risky, closed, mine) if c.reference in html}

    assert refs("status=closed") == {closed.reference}
    assert refs("risk=sextortion") == {risky.reference}
    assert refs("mine=on") == {mine.reference}
    assert refs("platform=pics.example") == {closed.reference}
    assert refs("due=overdue") == {risky.reference}
    assert refs("due=soon") == {mine.reference}
    assert refs(f"q={mine.reference[-4:]}") == {mine.reference}
    assert refs("q=tube") == {risky.reference}
    assert refs("status=bogus&sort=bogus") == {risky.reference, closed.reference, mine.reference}


def test_case_page_shows_timeline_and_records_the_view(org_a: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    case = make_case(org_a, bundle=services.parse_bundle(bundle_text(shared_photo(7))))
    response = client.get(f"/staff/cases/{case.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    # The timeline says what happened in words, never the code.
    assert "Case opened" in html and "case.opened" not in html and "https://example.com/x" in html
    assert AuditEvent.objects.filter(action="case.viewed", subject_id=str(case.pk)).count() == 1


def test_note_assign_and_status(org_a: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    from django.contrib.auth import get_user_model

    me = get_user_model().objects.get(email="adv@a.org")
    case = make_case(org_a)
    assert client.post(f"/staff/cases/{case.pk}/notes/", {"body": "Called the survivor back."}).status_code == 302
    assert CaseNote.objects.get(case=case).body == "Called the survivor back."
    assert client.post(f"/staff/cases/{case.pk}/notes/", {"body": "   "}).status_code == 400
    assert client.post(f"/staff/cases/{case.pk}/assign/", {"assignee": me.pk}).status_code == 302
    assert Case.objects.get(pk=case.pk).assignee_id == me.pk
    assert client.post(f"/staff/cases/{case.pk}/status/", {"status": "closed"}).status_code == 302
    refused = client.post(f"/staff/cases/{case.pk}/status/", {"status": "resolved"})
    assert refused.status_code == 400 and Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED


def test_bulk_assign_and_close_skip_foreign_cases(org_a: Organization, org_b: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    from django.contrib.auth import get_user_model

    me = get_user_model().objects.get(email="adv@a.org")
    ours = [make_case(org_a, urls=(f"https://s{i}.example/x",)) for i in range(2)]
    foreign = make_case(org_b)
    ids = [c.pk for c in ours] + [foreign.pk]
    client.post("/staff/cases/bulk/", {"case_ids": ids, "action": "assign", "assignee": me.pk})
    assert {c.assignee_id for c in Case.objects.filter(pk__in=[c.pk for c in ours])} == {me.pk}
    client.post("/staff/cases/bulk/", {"case_ids": ids, "action": "close"})
    assert set(Case.objects.filter(pk__in=[c.pk for c in ours]).values_list("status", flat=True)) == {"closed"}
    foreign.refresh_from_db()
    assert foreign.status == CaseStatus.OPEN and foreign.assignee_id is None


def test_csv_export_has_the_filtered_caseload_and_no_sensitive_values(org_a: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    a = make_case(org_a, risk_doxxing=True, contact_preference="email", contact_email="secret@example.org")
    make_case(org_a, urls=("https://b.example/x",))
    response = client.get("/staff/cases/export.csv?risk=doxxing")
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "reference" and [r[0] for r in rows[1:]] == [a.reference]
    assert rows[1][-1] == "doxxing"
    assert "secret@example.org" not in body and "example.com" not in body


def test_metrics_page_counts(org_a: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    case = make_case(org_a, urls=("https://tube.example/1", "https://tube.example/2"))
    ReportedItem.objects.filter(case=case).update(status=ItemStatus.REMOVED, removed_at=timezone.now())
    html = client.get("/staff/cases/metrics/").content.decode()
    assert "Links reported: 2. Removed: 2." in html
    assert "tube.example" in html and "<meter" in html


def test_open_a_case_on_behalf_of_a_survivor(org_a: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    response = client.post(
        "/staff/cases/new/",
        {
            "organization": org_a.pk,
            "survivor_name": "R. Survivor",
            "authorisation": "Signed authorisation form, 3 May",
            "authorisation_confirmed": "on",
            "signature_name": "Advocate Name",
            "content_kind": "authentic",
            "bundle": bundle_text(shared_photo(8)),
            "urls": "https://example.com/z",
        },
    )
    assert response.status_code == 200
    case = Case.objects.get()
    assert case.opened_by == "representative" and case.organization_id == org_a.pk
    assert case.representative["authorisation"] == "Signed authorisation form, 3 May"
    assert case.reference in response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT representative FROM cases_case WHERE id = %s", [case.pk])
        assert "R. Survivor" not in cursor.fetchone()[0]


def test_police_and_hash_service_references_are_recorded_encrypted(org_a: Organization) -> None:
    client = staff_client(org_a, "adv@a.org")
    case = make_case(org_a)
    response = client.post(
        f"/staff/cases/{case.pk}/details/",
        {"police_reference": "MET-2026-991", "hash_service_reference": "NCII-77", "risk_physical_danger": "on"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.police_reference == "MET-2026-991" and case.hash_service_reference == "NCII-77"
    assert case.risk_physical_danger and not case.risk_doxxing
    with connection.cursor() as cursor:
        cursor.execute("SELECT police_reference FROM cases_case WHERE id = %s", [case.pk])
        assert "MET-2026" not in cursor.fetchone()[0]
    assert "MET-2026-991" in client.get(f"/staff/cases/{case.pk}/").content.decode()
