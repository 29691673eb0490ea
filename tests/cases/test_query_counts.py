"""Query counts of the advocate pages the load benchmark measures (bench/load.py, issue #9 item 6).

A page whose query count grows with the data (one query per case on the caseload, per notice,
note or link on a case page) is what makes it slow at 10,000 cases; these tests pin the counts so
that growth is caught here rather than in a load run. Counts are compared between a small and a
larger data set (not against magic numbers), so adding a fixed query to a page does not break them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from takedown.cases import services
from takedown.cases.models import Case, CaseStatus
from takedown.core.access import Actor
from takedown.core.models import ActorKind
from takedown.notices.services import notice_approve, notice_draft, notice_mark_sent
from takedown.organizations.models import Organization
from tests.cases.conftest import staff_client
from tests.notices.conftest import registry  # noqa: F401 - the real platform registry

pytestmark = pytest.mark.django_db

HOSTS = ("x.com", "www.reddit.com", "www.tiktok.com", "files.example-host.org")


def open_case(org: Organization, n: int, links: int) -> Case:
    return services.case_open(
        actor=Actor.system(),
        signature_name="Alex Example",
        organization=org,
        jurisdictions=["US"],
        content_kind="authentic",
        urls=[f"https://{HOSTS[k % len(HOSTS)]}/post/{n}/{k}" for k in range(links)],
    ).case


def queries(client: Client, path: str) -> list[str]:
    client.get(path)  # warm: session, translations, content types
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.status_code
    return [q["sql"] for q in captured.captured_queries]


def grow_case(case: Case, staff: Actor, org: Organization) -> None:
    """More of everything the case page lists: links, notices on several platforms, notes, events."""
    from takedown.organizations.services import staff_create

    colleague = staff_create(actor=Actor.system(), organization=org, email="second@a.org", password="x" * 16)
    # A notice no hash match backs is approved by a second person (four eyes).
    second = Actor(kind=ActorKind.STAFF, user_id=colleague.pk, organization_ids=frozenset({org.pk}), mfa_verified=True)
    services.case_add_urls(
        actor=staff, case=case, urls=[f"https://{host}/more/{case.pk}/{k}" for k in range(3) for host in HOSTS]
    )
    for host in ("x.com", "www.reddit.com", "www.tiktok.com"):
        items = list(case.items.filter(host=host))
        notice = notice_approve(actor=second, notice=notice_draft(actor=staff, case=case, items=items))
        if host != "www.tiktok.com":
            notice_mark_sent(actor=staff, notice=notice)
    for k in range(4):
        services.case_note_add(actor=staff, case=Case.objects.get(pk=case.pk), body=f"note {k}")
    services.case_set_status(actor=staff, case=Case.objects.get(pk=case.pk), status=CaseStatus.RESOLVED)


@pytest.fixture
def advocate(org_a: Organization) -> tuple[Client, Actor]:
    from django.contrib.auth import get_user_model

    client = staff_client(org_a, "load@a.org")
    user = get_user_model().objects.get(email="load@a.org")
    org_a.notice_contact_email = "notices@a.example.org"
    org_a.save(update_fields=["notice_contact_email"])
    return client, Actor(
        kind=ActorKind.STAFF, user_id=user.pk, organization_ids=frozenset({org_a.pk}), mfa_verified=True
    )


@pytest.mark.usefixtures("registry")
@pytest.mark.parametrize(
    "query",
    ["", "?status=open", "?platform=x.com", "?q=reddit", "?sort=deadline", "?mine=on", "?risk=sextortion"],
)
def test_caseload_queries_do_not_grow_with_cases(
    org_a: Organization, advocate: tuple[Client, Actor], query: str
) -> None:
    client, staff = advocate
    for n in range(2):  # every filter finds these two (a link on x.com and one on reddit)
        case = open_case(org_a, n, links=2)
        services.case_assign(actor=staff, case=case, assignee_id=staff.user_id)
    few = queries(client, f"/staff/cases/{query}")
    for n in range(2, 30):  # more than a page (25), with more links each
        case = open_case(org_a, n, links=4)
        services.case_assign(actor=staff, case=case, assignee_id=staff.user_id)
    many = queries(client, f"/staff/cases/{query}")
    assert len(many) == len(few), "\n".join(many)


@pytest.mark.usefixtures("registry")
def test_case_page_queries_do_not_grow_with_links_notices_notes(
    org_a: Organization, advocate: tuple[Client, Actor]
) -> None:
    client, staff = advocate
    small = open_case(org_a, 1, links=1)
    big = open_case(org_a, 2, links=1)
    grow_case(big, staff, org_a)
    # Three notices drafted by the advocate (sending also proposes de-indexing drafts, day 0).
    assert big.notices.filter(escalated_from__isnull=True).count() == 3
    assert big.notes.count() == 4 and big.items.count() == 13
    few = queries(client, f"/staff/cases/{small.pk}/")
    many = queries(client, f"/staff/cases/{big.pk}/")
    assert len(many) == len(few), _diff(few, many)
    page = client.get(f"/staff/cases/{big.pk}/").content.decode()
    assert all(name in page for name in big.notices.values_list("platform__name", flat=True))


@pytest.mark.usefixtures("registry")
def test_survivor_case_page_queries_do_not_grow(org_a: Organization, advocate: tuple[Client, Actor]) -> None:
    _client, staff = advocate
    opened = []
    for n, grow in ((1, False), (2, True)):
        result = services.case_open(
            actor=Actor(kind=ActorKind.SURVIVOR),
            signature_name="Alex Example",
            organization=org_a,
            jurisdictions=["US"],
            content_kind="authentic",
            urls=[f"https://x.com/someone/status/{n}"],
        )
        if grow:
            grow_case(result.case, staff, org_a)
        opened.append(result)
    counts = []
    for result in opened:
        survivor = Client()
        response = survivor.post("/case/sign-in/", {"reference": result.case.reference, "pin": result.pin})
        assert response.status_code == 302
        counts.append(queries(survivor, "/case/"))
    assert len(counts[1]) == len(counts[0]), _diff(counts[0], counts[1])


def _diff(few: list[str], many: list[str]) -> str:
    shorten: Callable[[str], str] = lambda sql: sql[:160]  # noqa: E731 - a one-off formatter
    return "few:\n" + "\n".join(map(shorten, few)) + "\n\nmany:\n" + "\n".join(map(shorten, many))
