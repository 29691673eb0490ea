"""DSA trusted flaggers (Art. 22): an organisation records the status and its coordinator; its DSA
notices say so and go through the platform's trusted-flagger channel; the Art. 22(3) report data
is exported by provider, type of content and action taken."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from takedown.core.access import Actor
from takedown.core.errors import InvalidInput
from takedown.core.models import AuditEvent
from takedown.notices.models import Notice, NoticeStatus
from takedown.notices.rendering import render_notice
from takedown.notices.services import notice_mark_submitted, notice_record_reply
from takedown.organizations.models import Organization
from takedown.organizations.services import organization_notifier_set
from takedown.registry import bases as b
from takedown.registry.models import ChannelKind, Intake, Platform, PlatformChannel, PlatformDomain
from tests.cases.conftest import staff_client
from tests.notices.conftest import ORG_NOTICE_EMAIL, approved_notice, open_case

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)
COORDINATOR = "Coimisiún na Meán (Ireland's Digital Services Coordinator)"
FLAGGER_FORM = "https://eu-video.example/trusted-flaggers"


@pytest.fixture
def platform() -> Platform:
    platform = Platform.objects.create(
        slug="eu-video", name="EU Video", serves=["EU"], supported_bases=[b.EU_DSA, b.PLATFORM_POLICY]
    )
    PlatformDomain.objects.create(platform=platform, domain="eu-video.example")
    PlatformChannel.objects.create(
        platform=platform, kind=ChannelKind.WEB_FORM, address="https://eu-video.example/dsa", intake=Intake.DSA_FORM
    )
    PlatformChannel.objects.create(
        platform=platform,
        kind=ChannelKind.WEB_FORM,
        address=FLAGGER_FORM,
        intake=Intake.DSA_FORM,
        trusted_flagger_only=True,
        position=9,
    )
    return platform


@pytest.fixture
def flagger(org_a: Organization) -> Organization:
    org_a.notice_contact_email = ORG_NOTICE_EMAIL
    org_a.save()
    return organization_notifier_set(
        actor=Actor.system(),
        organization=org_a,
        postal_address="",
        phone="",
        trusted_flagger=True,
        coordinator=COORDINATOR,
        member_state="IE",
        since=date(2025, 3, 1),
    )


def test_the_status_needs_a_coordinator_and_a_member_state(org_a: Organization) -> None:
    with pytest.raises(InvalidInput):
        organization_notifier_set(
            actor=Actor.system(), organization=org_a, postal_address="", phone="", trusted_flagger=True
        )
    assert not Organization.objects.get(pk=org_a.pk).trusted_flagger


def test_a_trusted_flagger_s_dsa_notice_says_so_and_uses_the_flagger_channel(
    flagger: Organization, org_b: Organization, platform: Platform
) -> None:
    assert AuditEvent.objects.filter(action="organization.notifier_changed").count() == 1
    case = open_case(organization=flagger, jurisdictions=["EU"], urls=["https://eu-video.example/v/1"])
    notice = approved_notice(case, member_state="IE")
    assert notice.recipient == FLAGGER_FORM
    rendered = render_notice(notice)
    assert (
        f"{flagger.name} is a trusted flagger designated under Article 22 of the Digital Services Act by "
        f"{COORDINATOR}: please process this notice with priority." in rendered.text
    )
    assert rendered.json["trusted_flagger"] == {"coordinator": COORDINATOR}
    assert (
        "illegal in Ireland" in rendered.text
        and "under section 3 of the Harassment, Harmful Communications" in rendered.text
    )
    # One notifier: the organisation (Art. 17(3)(b): the notifier may be named to the uploader).
    assert f"Notifier: {flagger.name} <{ORG_NOTICE_EMAIL}>" in rendered.text and "Alex Example" not in rendered.text

    org_b.notice_contact_email = "n@b.example"
    org_b.save()
    other = approved_notice(open_case(organization=org_b, jurisdictions=["EU"], urls=["https://eu-video.example/v/2"]))
    assert other.recipient == "https://eu-video.example/dsa"  # reserved for trusted flaggers
    assert "trusted flagger" not in render_notice(other).text

    policy = approved_notice(
        open_case(organization=flagger, jurisdictions=["other"], urls=["https://eu-video.example/v/3"])
    )
    assert policy.basis == b.PLATFORM_POLICY and "trusted flagger" not in render_notice(policy).text


def test_the_article_22_3_report_data(flagger: Organization, platform: Platform, org_b: Organization) -> None:
    sent = []
    for n in range(3):
        case = open_case(organization=flagger, jurisdictions=["EU"], urls=[f"https://eu-video.example/v/{n}"])
        notice = notice_mark_submitted(actor=STAFF, notice=approved_notice(case), platform_ticket=f"E-{n}")
        sent.append(notice)
    Notice.objects.filter(pk=sent[0].pk).update(sent_at=timezone.now() - timedelta(hours=10))
    notice_record_reply(actor=STAFF, notice=Notice.objects.get(pk=sent[0].pk), outcome=NoticeStatus.REMOVED)
    notice_record_reply(actor=STAFF, notice=sent[1], outcome=NoticeStatus.REJECTED, reason="Not illegal here")

    client = staff_client(flagger, "advocate@a.example")
    response = client.get(f"/staff/cases/trusted-flagger-report.csv?year={timezone.now().year}")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows == [
        {
            "hosting_provider": "EU Video",
            "type_of_content": "non-consensual sharing of intimate images",
            "notices_submitted": "3",
            "removed_or_disabled": "1",
            "rejected": "1",
            "more_information_asked": "0",
            "no_decision_yet": "1",
            "median_hours_to_decision": rows[0]["median_hours_to_decision"],
        }
    ]
    assert float(rows[0]["median_hours_to_decision"]) >= 0
    assert "eu-video.example/v" not in response.content.decode()  # no case data
    assert AuditEvent.objects.filter(action="organization.trusted_flagger_report").count() == 1

    assert staff_client(org_b, "advocate@b.example").get("/staff/cases/trusted-flagger-report.csv").status_code == 404
    assert Client().get("/staff/cases/trusted-flagger-report.csv").status_code == 302
    out = io.StringIO()
    call_command("trusted_flagger_report", flagger.slug, str(timezone.now().year), stdout=out)
    assert out.getvalue().splitlines()[0].startswith("hosting_provider,type_of_content")
