"""Unknown hosts: the hosting provider from a local RDAP server, Cloudflare from its published ranges.

Nothing here reaches the internet: RDAP is a local stub (tests/notices/servers.py) and the
addresses are only ever sent to it. The addresses the checks "connected to" are written into
ItemCheck rows directly, because a real check against the local site can only record 127.0.0.1,
which no registry holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_django import Settings

from takedown.cases.models import Case, ReportedItem
from takedown.core.access import Actor
from takedown.core.errors import InvalidInput
from takedown.core.models import AuditEvent
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck
from takedown.notices.models import Escalation, EscalationRung, Notice, NoticeChannel
from takedown.notices.services import notice_draft
from takedown.organizations.models import Organization
from takedown.registry import bases as b
from takedown.registry.hosting import RdapHostingLookup, is_cloudflare
from takedown.registry.models import Platform
from tests.conftest import free_port
from tests.notices.conftest import ORG_NOTICE_EMAIL, approved_notice, open_case
from tests.notices.servers import RdapServer, rdap_network
from tests.notices.test_escalation import run_beat, sent_and_overdue

STAFF = Actor(kind="staff", mfa_verified=True)
HOSTED_AT = "5.9.10.20"  # a public address; only the local RDAP stub is ever asked about it
CLOUDFLARE_AT = "104.16.132.229"


def served_from(item: ReportedItem, address: str) -> ItemCheck:
    """Record that a check of the item connected to `address` (what the fetcher pins)."""
    return ItemCheck.objects.create(
        item=item,
        case=item.case,
        trigger=CheckTrigger.REPORT,
        state=CheckState.DONE,
        requested_url=item.url,
        pinned_ip=address,
    )


@pytest.fixture
def rdap(settings: Settings, rdap_server: RdapServer) -> RdapServer:
    settings.NOTICES_RDAP_URL = rdap_server.url
    settings.NOTICES_RDAP_TIMEOUT = 2
    rdap_server.records[HOSTED_AT] = rdap_network()
    return rdap_server


# ---------------------------------------------------------------------------------------------------
# The lookup


def test_rdap_answer_names_the_provider_and_its_abuse_address(rdap: RdapServer) -> None:
    answer = RdapHostingLookup(rdap.url, 2).explain(HOSTED_AT)
    provider = answer.provider
    assert provider is not None and answer.reason == ""
    assert provider.name == "Example Hosting GmbH" and provider.abuse_email == "abuse@example-hosting.test"
    assert provider.handle == "ORG-EH1-RIPE" and provider.network == "5.9.0.0 - 5.9.255.255"
    assert provider.source_url == f"{rdap.url}/ip/{HOSTED_AT}"
    assert rdap.queries == [f"/ip/{HOSTED_AT}"]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("missing", "http_404"), ("error", "http_500"), ("garbage", "invalid_json"), ("slow", "timeout")],
)
def test_rdap_failures_are_answers_with_a_reason_not_exceptions(rdap: RdapServer, mode: str, reason: str) -> None:
    if mode == "missing":
        rdap.records.clear()
    else:
        rdap.mode = mode
        rdap.delay = 3.0
    lookup = RdapHostingLookup(rdap.url, 0.5)
    answer = lookup.explain(HOSTED_AT)
    assert answer.provider is None and answer.reason == reason and answer.detail
    assert lookup.lookup(HOSTED_AT) is None


def test_rdap_down_record_without_abuse_contact_and_private_addresses() -> None:
    down = RdapHostingLookup(f"http://127.0.0.1:{free_port()}", 1)  # nothing listens there
    assert down.explain(HOSTED_AT).reason == "unreachable"
    assert down.explain("127.0.0.1").reason == "not_public"  # never asked: no registry holds it
    assert down.explain("not-an-address").reason == "bad_address"


def test_a_record_without_an_abuse_contact_finds_nothing(rdap: RdapServer) -> None:
    rdap.records[HOSTED_AT] = rdap_network(abuse_email=None)
    answer = RdapHostingLookup(rdap.url, 2).explain(HOSTED_AT)
    assert answer.provider is None and answer.reason == "no_abuse_contact"
    assert "Example Hosting GmbH" in answer.detail
    rdap.records[HOSTED_AT] = {"objectClassName": "domain"}
    assert RdapHostingLookup(rdap.url, 2).explain(HOSTED_AT).reason == "not_rdap"


def test_cloudflare_ranges() -> None:
    assert is_cloudflare(CLOUDFLARE_AT) and is_cloudflare("172.67.1.1") and is_cloudflare("2606:4700::6810:84e5")
    assert not is_cloudflare(HOSTED_AT) and not is_cloudflare("2a01:4f8::1") and not is_cloudflare("nonsense")


# ---------------------------------------------------------------------------------------------------
# Drafting for an unknown host


@pytest.fixture
def unknown_case(org_a: Organization) -> Case:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return open_case(organization=org_a, jurisdictions=["EU"], urls=["https://unknown-site.example/p/1"])


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_drafting_for_an_unknown_host_goes_to_the_provider_rdap_names(rdap: RdapServer, unknown_case: Case) -> None:
    item = unknown_case.items.get()
    served_from(item, HOSTED_AT)
    notice = notice_draft(actor=STAFF, case=unknown_case, items=[item])
    platform = notice.platform
    assert platform.slug == "host-org-eh1-ripe" and platform.name == "Example Hosting GmbH"
    assert platform.data_version == ""  # the registry loader leaves it alone
    assert notice.channel == NoticeChannel.EMAIL and notice.recipient == "abuse@example-hosting.test"
    assert notice.basis == b.EU_DSA and "Example Hosting GmbH" in notice.basis_reason

    (looked_up,) = AuditEvent.objects.filter(action="notice.hosting_looked_up", subject_id=str(unknown_case.pk))
    assert looked_up.data["source"] == "rdap" and looked_up.data["provider"] == "Example Hosting GmbH"
    assert HOSTED_AT not in str(looked_up.data) and "unknown-site" not in str(looked_up.data)
    drafted = AuditEvent.objects.get(action="notice.drafted", subject_id=str(unknown_case.pk))
    assert drafted.data["hosting"]["source"] == "rdap"
    assert AuditEvent.objects.filter(action="platform.hosting_created").count() == 1

    again = notice_draft(actor=STAFF, case=unknown_case, items=[item])  # the provider's platform is reused
    assert again.platform_id == platform.pk and Platform.objects.filter(slug__startswith="host-").count() == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_an_unknown_host_behind_cloudflare_goes_to_cloudflare(rdap: RdapServer, unknown_case: Case) -> None:
    item = unknown_case.items.get()
    served_from(item, CLOUDFLARE_AT)
    notice = notice_draft(actor=STAFF, case=unknown_case, items=[item])
    assert notice.platform.slug == "cloudflare" and notice.channel == NoticeChannel.FORM
    assert notice.recipient == "https://abuse.cloudflare.com/" and notice.basis == b.PLATFORM_POLICY
    assert rdap.queries == []  # Cloudflare's ranges are known without asking anyone
    event = AuditEvent.objects.get(action="notice.hosting_looked_up")
    assert event.data["source"] == "cloudflare_ranges" and event.data["provider"] == "Cloudflare"


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_drafting_is_refused_with_the_reason_when_no_provider_is_found(rdap: RdapServer, unknown_case: Case) -> None:
    item = unknown_case.items.get()
    with pytest.raises(InvalidInput, match="No check has recorded"):
        notice_draft(actor=STAFF, case=unknown_case, items=[item])

    served_from(item, HOSTED_AT)
    rdap.records.clear()
    with pytest.raises(InvalidInput, match="HTTP 404") as refused:
        notice_draft(actor=STAFF, case=unknown_case, items=[item])
    assert "unknown-site.example" in refused.value.message
    assert not Notice.objects.exists() and not Platform.objects.filter(slug__startswith="host-").exists()
    reasons = list(
        AuditEvent.objects.filter(action="notice.hosting_looked_up").order_by("id").values_list("data", flat=True)
    )
    assert [r["reason"] for r in reasons] == ["no_address", "http_404"]  # recorded though the draft was refused


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_lookups_disabled_by_default(settings: Settings, unknown_case: Case) -> None:
    settings.NOTICES_RDAP_URL = ""
    item = unknown_case.items.get()
    served_from(item, HOSTED_AT)
    with pytest.raises(InvalidInput, match="not configured"):
        notice_draft(actor=STAFF, case=unknown_case, items=[item])


# ---------------------------------------------------------------------------------------------------
# The hosting-provider rung of the escalation ladder


def climb_to_hosting(case: Case, capture: Callable[..., Any]) -> Escalation:
    notice = sent_and_overdue(approved_notice(case))
    run_beat(capture)
    run_beat(capture)
    follow_up = Escalation.objects.get(notice=notice)
    assert follow_up.rung == EscalationRung.FOLLOW_UP and follow_up.draft_notice is not None
    follow = sent_and_overdue(follow_up.draft_notice, ticket="T-2")
    run_beat(capture)
    run_beat(capture)
    return Escalation.objects.get(notice=follow)


@pytest.fixture
def x_case(org_a: Organization) -> Case:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return open_case(organization=org_a, jurisdictions=["US", "EU"], urls=["https://x.com/a/status/1"])


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_the_hosting_rung_writes_to_the_provider_rdap_names(
    rdap: RdapServer, x_case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    served_from(x_case.items.get(), HOSTED_AT)
    hosting = climb_to_hosting(x_case, django_capture_on_commit_callbacks)
    assert hosting.rung == EscalationRung.HOSTING_PROVIDER and hosting.target == "host:host-org-eh1-ripe"
    draft = hosting.draft_notice
    assert draft is not None and draft.platform.name == "Example Hosting GmbH"
    assert draft.channel == NoticeChannel.EMAIL and draft.recipient == "abuse@example-hosting.test"
    assert draft.basis == b.EU_DSA and "T-2" in draft.details
    assert "Example Hosting GmbH" in hosting.note and "abuse@example-hosting.test" in hosting.note
    event = AuditEvent.objects.get(action="notice.hosting_looked_up")
    assert event.data["purpose"] == "escalation" and event.data["source"] == "rdap"


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_the_hosting_rung_goes_to_cloudflare_when_the_site_is_behind_it(
    rdap: RdapServer, x_case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    served_from(x_case.items.get(), CLOUDFLARE_AT)
    hosting = climb_to_hosting(x_case, django_capture_on_commit_callbacks)
    assert hosting.target == "host:cloudflare" and "Cloudflare" in hosting.note
    assert hosting.draft_notice is not None and hosting.draft_notice.platform.slug == "cloudflare"
    assert rdap.queries == []


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_the_hosting_rung_falls_back_to_the_platform_and_says_why(
    rdap: RdapServer, x_case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    served_from(x_case.items.get(), HOSTED_AT)
    rdap.mode = "garbage"
    hosting = climb_to_hosting(x_case, django_capture_on_commit_callbacks)
    assert hosting.target == "host:x"  # the platform's own abuse contact, as before the lookup existed
    assert hosting.draft_notice is not None and hosting.draft_notice.platform.slug == "x"
    assert "not JSON" in hosting.note and "RDAP" in hosting.note
    assert AuditEvent.objects.get(action="notice.hosting_looked_up").data["reason"] == "invalid_json"
