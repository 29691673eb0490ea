"""Fixtures for notice tests: the real platform registry, and cases with links on known platforms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from takedown.cases import services as case_services
from takedown.cases.models import Case, ContactPreference
from takedown.core.access import Actor
from takedown.notices.models import Notice
from takedown.notices.services import notice_approve, notice_draft, notice_edit
from takedown.organizations.models import Organization
from takedown.registry.models import ChannelKind, ContentKind, Platform, PlatformChannel, PlatformDomain
from takedown.registry.services import platforms_load
from tests.cases.conftest import org_a, org_b  # noqa: F401 - fixtures shared with the case tests
from tests.cases.vouching import vouch_for
from tests.notices.servers import rdap_server, receiver, smtp_server  # noqa: F401 - local SMTP, webhook, RDAP

SURVIVOR = Actor(kind="survivor")


def registry_data() -> dict[str, Any]:
    data = yaml.safe_load(Path(settings.NOTICES_PLATFORMS_FILE).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def registry() -> None:
    platforms_load(actor=Actor.system(), data=registry_data())


def open_case(
    *,
    organization: Organization | None = None,
    jurisdictions: Sequence[str] = ("US",),
    urls: Sequence[str] = ("https://x.com/someone/status/1",),
    contact_preference: str = ContactPreference.NONE,
    contact_email: str = "",
    content_kind: str = ContentKind.AUTHENTIC,
    consent_share_hashes: bool = False,
    signature_name: str = "Alex Example",
    bundle: str | None = None,
    representative: dict[str, Any] | None = None,
    vouched: bool | None = None,
) -> Case:
    """A case opened by a survivor. With consent and a bundle, an advocate of a vetted organisation
    also vouches for the hashes (unless `vouched=False`): consent alone shares nothing."""
    case = case_services.case_open(
        actor=SURVIVOR,
        signature_name=signature_name,
        jurisdictions=jurisdictions,
        content_kind=content_kind,
        consent_share_hashes=consent_share_hashes,
        contact_preference=contact_preference,
        contact_email=contact_email,
        urls=urls,
        organization=organization,
        representative=representative,
        bundle=case_services.parse_bundle(bundle) if bundle else None,
    ).case
    if bundle and (consent_share_hashes if vouched is None else vouched):
        vouch_for(case)
    return case


ORG_NOTICE_EMAIL = "notices@helpline.example.org"


def webhook_platform(url: str, secret: str) -> Platform:
    """A platform reached by signed webhook (the registry lists no partner API yet)."""
    platform = Platform.objects.create(
        slug="hashmatch-video", name="HashMatch Video", serves=["EU", "US"], supported_bases=["eu_dsa"]
    )
    PlatformDomain.objects.create(platform=platform, domain="hashmatch.example")
    PlatformChannel.objects.create(platform=platform, kind=ChannelKind.API, address=url, webhook_secret=secret)
    return platform


def approved_notice(case: Case, basis: str | None = None, member_state: str = "DE") -> Notice:
    """A drafted and approved notice for all the case's links (an EU notice names Germany's offence)."""
    staff = Actor(kind="staff", mfa_verified=True)
    notice = notice_draft(
        actor=staff,
        case=case,
        items=list(case.items.all()),
        basis_code=basis,
        member_state=member_state if "EU" in (case.jurisdictions or []) else "",
    )
    if notice.basis == "br_marco_civil":
        notice = notice_edit(actor=staff, notice=notice, details="", requester_verification=BR_VERIFICATION)
    return notice_approve(actor=staff, notice=notice)


# Marco Civil Art. 21: how the platform can verify the requester (the advocate writes it, in Portuguese).
BR_VERIFICATION = (
    "Documento de identidade da pessoa retratada disponível mediante solicitação pelo endereço de contato."
)
