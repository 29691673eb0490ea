"""Fixtures for the platform API: platforms with accounts and keys, sent notices, consented hashes."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from takedown.cases.models import Case
from takedown.core.access import Actor
from takedown.notices.models import Notice
from takedown.notices.services import notice_mark_sent
from takedown.organizations.models import Organization
from takedown.platforms import services
from takedown.platforms.models import PlatformAccount
from takedown.registry.models import Platform
from tests.cases.conftest import bundle_text, org_a, org_b, shared_photo  # noqa: F401 - shared fixtures
from tests.notices.conftest import approved_notice, open_case, registry  # noqa: F401 - shared fixtures
from tests.notices.servers import receiver  # noqa: F401 - the local webhook endpoint

STAFF = Actor(kind="staff", mfa_verified=True)


@functools.cache
def photo_bundle(*numbers: int) -> str:
    """A real bundle of shared photos, hashed once per test session."""
    return bundle_text(*(shared_photo(n) for n in numbers))


def account_for(slug: str, *, vetted: bool) -> PlatformAccount:
    platform = Platform.objects.filter(slug=slug).first() or Platform.objects.create(slug=slug, name=slug.title())
    return services.platform_account_create(actor=Actor.system(), platform=platform, is_vetted=vetted)


def key_for(account: PlatformAccount, scopes: list[str]) -> str:
    return services.api_key_create(actor=Actor.system(), account=account, scopes=scopes).secret


def api_client(key: str | None) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}") if key else Client()


def sent_notice(case: Case) -> Notice:
    notice = approved_notice(case)
    return notice_mark_sent(actor=STAFF, notice=notice)


def consented_case(*photos: int, consent: bool = True, urls: tuple[str, ...] = ()) -> Case:
    return open_case(bundle=photo_bundle(*photos), consent_share_hashes=consent, urls=urls)


@dataclass
class World:
    """Platform X (vetted, addressed by a sent notice) and platform Y (another, vetted), with keys."""

    x: PlatformAccount
    y: PlatformAccount
    x_key: str
    y_key: str
    notice: Notice
    case: Case


@pytest.fixture
def helpline(org_a: Organization) -> Organization:  # noqa: F811 - the org_a fixture
    """The organisation whose notice address notices give as the contact."""
    org_a.notice_contact_email = "notices@helpline.example.org"
    org_a.save(update_fields=["notice_contact_email"])
    return org_a


@pytest.fixture
def world(registry: None, helpline: Organization) -> World:  # noqa: F811 - the registry fixture
    case = open_case(
        organization=helpline,
        urls=("https://x.com/someone/status/1",),
        bundle=photo_bundle(1),
        consent_share_hashes=True,
    )
    notice = sent_notice(case)
    x = account_for("x", vetted=True)
    y = account_for("reddit", vetted=True)
    return World(
        x=x,
        y=y,
        x_key=key_for(x, ["notices", "lookup", "feed"]),
        y_key=key_for(y, ["notices", "lookup", "feed"]),
        notice=notice,
        case=case,
    )


def json_of(response: Any) -> Any:
    return response.json()
