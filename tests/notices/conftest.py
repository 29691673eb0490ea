"""Fixtures for notice tests: the real platform registry, and cases with links on known platforms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from takedown.cases import services as case_services
from takedown.cases.models import Case, ContactPreference, ContentKind
from takedown.core.access import Actor
from takedown.notices.services import platforms_load
from takedown.organizations.models import Organization
from tests.cases.conftest import org_a, org_b  # noqa: F401 - fixtures shared with the case tests

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
) -> Case:
    return case_services.case_open(
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
