"""Unknown sites: the hosting provider through IANA's RDAP bootstrap and the registry's RDAP server,
fetched through the SSRF-safe fetcher; Cloudflare from its published ranges; or a contact the
advocate enters, saved to the registry. The advocate can always go on.

Nothing here reaches the internet: the bootstrap files and RDAP answers come from a local server
(tests/notices/servers.py) and the addresses are only ever sent to it. The addresses the checks
"connected to" are written into ItemCheck rows directly, because a real check against a local
site can only record 127.0.0.1, which no registry holds. The fetcher may reach 127.0.0.1 here only
because the test settings allow loopback (FETCH_ALLOW_LOOPBACK); the tests of internal addresses
show which refusals hold whatever that allowance says, and turn it off to show the rest.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from pytest_django import Settings

from takedown.cases.models import Case, ReportedItem
from takedown.core.access import Actor
from takedown.core.errors import InvalidInput
from takedown.core.models import AuditEvent
from takedown.matching.models import CheckState, CheckTrigger, ItemCheck
from takedown.notices.models import Escalation, EscalationRung, Notice, NoticeChannel
from takedown.notices.rendering import render_notice
from takedown.notices.services import HOST_CONTACT_NEEDED, notice_draft
from takedown.organizations.models import Organization
from takedown.registry import bases as b
from takedown.registry.hosting import RdapHostingLookup, fetch_bootstrap, is_cloudflare, rdap_policy
from takedown.registry.models import Platform, PlatformKind, RdapBootstrapFile
from takedown.registry.selectors import platform_for_host
from takedown.registry.services import hosting_route, rdap_bootstrap_refresh
from tests.conftest import free_port
from tests.notices.conftest import ORG_NOTICE_EMAIL, open_case
from tests.notices.servers import RdapServer, rdap_network
from tests.notices.test_escalation import run_beat, sent_and_overdue

STAFF = Actor(kind="staff", mfa_verified=True)
HOSTED_AT = "5.9.10.20"  # a public address; only the local RDAP server is ever asked about it
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
    settings.NOTICES_RDAP_BOOTSTRAP_URL = rdap_server.bootstrap_url
    settings.NOTICES_RDAP_TIMEOUT = 2
    settings.FETCH_ALLOW_LOOPBACK = True  # the local server is on 127.0.0.1 (tests only)
    rdap_server.records[HOSTED_AT] = rdap_network()
    return rdap_server


def lookup(server: RdapServer, timeout: float = 2) -> RdapHostingLookup:
    files = fetch_bootstrap(server.bootstrap_url, rdap_policy(timeout))
    server.queries.clear()
    return RdapHostingLookup(files, rdap_policy(timeout), allow_http=True)


# ---------------------------------------------------------------------------------------------------
# The lookup


def test_rdap_answer_names_the_provider_and_its_abuse_address(rdap: RdapServer, settings: Settings) -> None:
    answer = lookup(rdap).explain(HOSTED_AT)
    provider = answer.provider
    assert provider is not None and answer.reason == ""
    assert provider.name == "Example Hosting GmbH" and provider.abuse_email == "abuse@example-hosting.test"
    assert provider.handle == "ORG-EH1-RIPE" and provider.network == "5.9.0.0 - 5.9.255.255"
    assert provider.source_url == f"{rdap.url}/ip/{HOSTED_AT}"
    assert rdap.queries == [f"/ip/{HOSTED_AT}"]
    # Every request went through the project's fetcher (its User-Agent), not the RDAP library's client.
    assert set(rdap.agents) == {settings.FETCH_USER_AGENT}


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("missing", "http_404"), ("error", "http_500"), ("garbage", "invalid_json"), ("slow", "timeout")],
)
def test_rdap_failures_are_answers_with_a_reason_not_exceptions(rdap: RdapServer, mode: str, reason: str) -> None:
    client = lookup(rdap, timeout=0.5)
    if mode == "missing":
        rdap.records.clear()
    else:
        rdap.mode = mode
        rdap.delay = 3.0
    answer = client.explain(HOSTED_AT)
    assert answer.provider is None and answer.reason == reason and answer.detail
    assert client.lookup(HOSTED_AT) is None


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/ip/5.9.10.20"])
def test_a_redirect_to_an_internal_address_is_refused_without_a_connection(rdap: RdapServer, target: str) -> None:
    client = lookup(rdap)
    rdap.mode, rdap.redirect_to = "redirect", target
    answer = client.explain(HOSTED_AT)
    # Refused when the redirect's address is checked, before any connection: link-local and
    # private networks are refused even with the tests' loopback allowance on.
    assert answer.provider is None and answer.reason == "forbidden_address"
    assert "not on the public internet" in answer.detail
    assert rdap.queries == [f"/ip/{HOSTED_AT}"]


@pytest.mark.django_db
def test_under_the_production_policy_no_request_reaches_127_0_0_1(rdap: RdapServer, settings: Settings) -> None:
    settings.FETCH_ALLOW_LOOPBACK = False  # production: loopback refused like any internal address
    # Refused before connecting: the test server's random port is not a web port, and 127.0.0.1 is
    # loopback (the fetcher checks the port first, then every address).
    assert hosting_route(address=HOSTED_AT).reason in {"bootstrap_bad_port", "bootstrap_forbidden_address"}
    assert rdap.queries == [] and not RdapBootstrapFile.objects.exists()
    # Bootstrap data that names a registry at 127.0.0.1 (or an answer redirecting there) is refused too.
    settings.FETCH_ALLOW_LOOPBACK = True
    rdap_bootstrap_refresh(actor=Actor.system())
    settings.FETCH_ALLOW_LOOPBACK = False
    # A bootstrap entry naming a registry on this machine (https, so it passes whoisit's own check).
    internal = rdap.url.replace("http://", "https://") + "/"
    RdapBootstrapFile.objects.filter(name="ipv4").update(data={"services": [[["5.0.0.0/8"], [internal]]]})
    rdap.queries.clear()
    route = hosting_route(address=HOSTED_AT)
    assert route.provider is None and route.reason in {"bad_port", "forbidden_address"}
    assert rdap.queries == []  # not one connection was made


def test_private_addresses_and_unreachable_servers(rdap: RdapServer) -> None:
    files = fetch_bootstrap(rdap.bootstrap_url, rdap_policy(1))
    files["ipv4"] = {"services": [[["5.0.0.0/8"], [f"http://127.0.0.1:{free_port()}/"]]]}  # nothing listens
    down = RdapHostingLookup(files, rdap_policy(1), allow_http=True)
    assert down.explain(HOSTED_AT).reason == "unreachable"
    assert down.explain("127.0.0.1").reason == "not_public"  # never asked: no registry holds it
    assert down.explain("10.1.2.3").reason == "not_public"
    assert down.explain("not-an-address").reason == "bad_address"


def test_a_record_without_an_abuse_contact_finds_nothing(rdap: RdapServer) -> None:
    client = lookup(rdap)
    rdap.records[HOSTED_AT] = rdap_network(abuse_email=None)
    answer = client.explain(HOSTED_AT)
    assert answer.provider is None and answer.reason == "no_abuse_contact"
    assert "Example Hosting GmbH" in answer.detail
    rdap.records[HOSTED_AT] = {"objectClassName": "domain"}
    assert client.explain(HOSTED_AT).reason == "not_rdap"


def test_cloudflare_ranges() -> None:
    assert is_cloudflare(CLOUDFLARE_AT) and is_cloudflare("172.67.1.1") and is_cloudflare("2606:4700::6810:84e5")
    assert not is_cloudflare(HOSTED_AT) and not is_cloudflare("2a01:4f8::1") and not is_cloudflare("nonsense")


# ---------------------------------------------------------------------------------------------------
# The bootstrap: fetched on first use, kept, refreshed by a command


@pytest.mark.django_db
def test_the_bootstrap_is_fetched_on_first_use_kept_and_refreshed_by_the_command(rdap: RdapServer) -> None:
    assert not RdapBootstrapFile.objects.exists()
    assert hosting_route(address=HOSTED_AT).provider is not None  # out of the box
    assert RdapBootstrapFile.objects.count() == 5
    fetched = [q for q in rdap.queries if q.startswith("/bootstrap/")]
    names = ("asn.json", "dns.json", "ipv4.json", "ipv6.json", "object-tags.json")
    assert sorted(fetched) == [f"/bootstrap/{n}" for n in sorted(names)]
    rdap.queries.clear()
    assert hosting_route(address=HOSTED_AT).provider is not None
    assert rdap.queries == [f"/ip/{HOSTED_AT}"]  # the stored copy is used

    RdapBootstrapFile.objects.update(fetched_at=timezone.now() - timedelta(days=400))
    out = io.StringIO()
    call_command("rdap_bootstrap", stdout=out)
    assert "RDAP bootstrap refreshed: 5 files." in out.getvalue()
    assert all(timezone.now() - row.fetched_at < timedelta(minutes=1) for row in RdapBootstrapFile.objects.all())
    assert AuditEvent.objects.filter(action="platforms.rdap_bootstrap_refreshed").count() == 2


# ---------------------------------------------------------------------------------------------------
# Drafting for an unknown site: the hosting provider, or the advocate's contact; never a dead end


@pytest.fixture
def unknown_case(org_a: Organization) -> Case:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return open_case(organization=org_a, jurisdictions=["EU"], urls=["https://unknown-site.example/p/1"])


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_an_unknown_site_gets_a_notice_to_its_hosting_provider(rdap: RdapServer, unknown_case: Case) -> None:
    item = unknown_case.items.get()
    served_from(item, HOSTED_AT)
    notice = notice_draft(actor=STAFF, case=unknown_case, items=[item], member_state="DE")
    platform = notice.platform
    assert platform.slug == "host-org-eh1-ripe" and platform.name == "Example Hosting GmbH"
    assert platform.kind == PlatformKind.HOSTING and not platform.first_party
    assert platform.data_version == ""  # the registry loader leaves it alone
    assert notice.channel == NoticeChannel.EMAIL and notice.recipient == "abuse@example-hosting.test"
    assert notice.basis == b.EU_DSA and "Example Hosting GmbH" in notice.basis_reason
    channel = platform.channels.get()
    assert channel.verified_on == timezone.localdate() and channel.intake == "abuse_email"
    # The generic host notice: it asks the host to act or pass it on.
    text = render_notice(notice).text
    assert "You host, or carry the traffic of, the site below" in text and "https://unknown-site.example/p/1" in text

    (looked_up,) = AuditEvent.objects.filter(action="notice.hosting_looked_up", subject_id=str(unknown_case.pk))
    assert looked_up.data["source"] == "rdap" and looked_up.data["provider"] == "Example Hosting GmbH"
    assert looked_up.data["rdap_server"] == "127.0.0.1"
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
def test_when_nothing_is_found_the_advocate_enters_the_contact_and_the_registry_keeps_it(
    rdap: RdapServer, unknown_case: Case, org_a: Organization
) -> None:
    item = unknown_case.items.get()
    with pytest.raises(InvalidInput, match="No check has recorded") as refused:
        notice_draft(actor=STAFF, case=unknown_case, items=[item])
    assert refused.value.code == HOST_CONTACT_NEEDED and "abuse email address" in refused.value.message
    assert "registry first" not in refused.value.message  # no dead end

    served_from(item, HOSTED_AT)
    rdap.records.clear()
    with pytest.raises(InvalidInput, match="HTTP 404") as refused:
        notice_draft(actor=STAFF, case=unknown_case, items=[item])
    assert "unknown-site.example" in refused.value.message and refused.value.code == HOST_CONTACT_NEEDED
    assert not Notice.objects.exists() and not Platform.objects.filter(slug__startswith="host-").exists()
    reasons = list(
        AuditEvent.objects.filter(action="notice.hosting_looked_up").order_by("id").values_list("data", flat=True)
    )
    assert [r["reason"] for r in reasons] == ["no_address", "http_404"]  # recorded though the draft was refused

    with pytest.raises(InvalidInput, match="https://"):
        notice_draft(actor=STAFF, case=unknown_case, items=[item], host_contact="http://plain.example/report")
    notice = notice_draft(
        actor=STAFF,
        case=unknown_case,
        items=[item],
        member_state="DE",
        host_contact="Abuse@Unknown-Site.example",
        host_name="Unknown Site",
    )
    site = notice.platform
    assert site.slug == "site-unknown-site-example" and site.kind == PlatformKind.SITE and not site.first_party
    assert notice.channel == NoticeChannel.EMAIL and notice.recipient == "abuse@unknown-site.example"
    assert site.channels.get().verified_on == timezone.localdate()
    assert platform_for_host("www.unknown-site.example") == site  # saved for the next case
    added = AuditEvent.objects.get(action="platform.contact_added")
    assert added.data == {"kind": "email", "created": True, "provider": False}
    lookups = AuditEvent.objects.filter(action="notice.hosting_looked_up").count()

    other = open_case(organization=org_a, jurisdictions=["UK"], urls=["https://unknown-site.example/p/2"])
    next_notice = notice_draft(actor=STAFF, case=other, items=list(other.items.all()))
    assert next_notice.platform_id == site.pk  # straight to it: no lookup, no question
    assert AuditEvent.objects.filter(action="notice.hosting_looked_up").count() == lookups

    form = open_case(organization=org_a, urls=["https://another.example/x"])
    by_form = notice_draft(
        actor=STAFF,
        case=form,
        items=list(form.items.all()),
        host_contact="https://host.example/abuse-form",
        host_is_provider=True,
    )
    assert by_form.channel == NoticeChannel.FORM and by_form.recipient == "https://host.example/abuse-form"
    assert by_form.platform.kind == PlatformKind.HOSTING


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_lookups_can_be_switched_off(settings: Settings, unknown_case: Case) -> None:
    settings.NOTICES_RDAP_BOOTSTRAP_URL = ""
    item = unknown_case.items.get()
    served_from(item, HOSTED_AT)
    with pytest.raises(InvalidInput, match="not configured") as refused:
        notice_draft(actor=STAFF, case=unknown_case, items=[item])
    assert refused.value.code == HOST_CONTACT_NEEDED


# ---------------------------------------------------------------------------------------------------
# The hosting-provider step of the ladder (for sites; first-party platforms skip it)


def climb_to_hosting(case: Case, capture: Callable[..., Any]) -> Escalation:
    item = case.items.get()
    notice = notice_draft(actor=STAFF, case=case, items=[item], host_contact="https://unknown-site.example/report")
    notice = sent_and_overdue(notice)
    run_beat(capture)
    run_beat(capture)
    follow_up = Escalation.objects.get(notice=notice, rung=EscalationRung.FOLLOW_UP)
    assert follow_up.draft_notice is not None
    follow = sent_and_overdue(follow_up.draft_notice, ticket="T-2")
    run_beat(capture)
    run_beat(capture)
    return Escalation.objects.get(notice=follow, rung=EscalationRung.HOSTING_PROVIDER)


@pytest.fixture
def site_case(org_a: Organization) -> Case:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return open_case(organization=org_a, jurisdictions=["US"], urls=["https://unknown-site.example/p/1"])


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_the_hosting_step_writes_to_the_provider_rdap_names(
    rdap: RdapServer, site_case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    served_from(site_case.items.get(), HOSTED_AT)
    hosting = climb_to_hosting(site_case, django_capture_on_commit_callbacks)
    assert hosting.target == "host:host-org-eh1-ripe"
    draft = hosting.draft_notice
    assert draft is not None and draft.platform.name == "Example Hosting GmbH"
    assert draft.channel == NoticeChannel.EMAIL and draft.recipient == "abuse@example-hosting.test"
    assert draft.basis == b.PLATFORM_POLICY and "T-2" in draft.details
    assert "Example Hosting GmbH" in hosting.note and "abuse@example-hosting.test" in hosting.note
    event = AuditEvent.objects.get(action="notice.hosting_looked_up")
    assert event.data["purpose"] == "escalation" and event.data["source"] == "rdap"


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_the_hosting_step_goes_to_cloudflare_when_the_site_is_behind_it(
    rdap: RdapServer, site_case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    served_from(site_case.items.get(), CLOUDFLARE_AT)
    hosting = climb_to_hosting(site_case, django_capture_on_commit_callbacks)
    assert hosting.target == "host:cloudflare" and "Cloudflare" in hosting.note
    assert hosting.draft_notice is not None and hosting.draft_notice.platform.slug == "cloudflare"
    assert not [q for q in rdap.queries if q.startswith("/ip/")]


@pytest.mark.django_db
@pytest.mark.usefixtures("registry")
def test_the_hosting_step_says_why_when_the_host_is_not_found(
    rdap: RdapServer, site_case: Case, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    served_from(site_case.items.get(), HOSTED_AT)
    rdap.mode = "garbage"
    hosting = climb_to_hosting(site_case, django_capture_on_commit_callbacks)
    assert hosting.draft_notice is None and "not JSON" in hosting.note and "registry" in hosting.note
    assert AuditEvent.objects.get(action="notice.hosting_looked_up").data["reason"] == "invalid_json"
