"""Fixtures for case tests: organisations, staff signed in with TOTP, real bundles of shared photos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client

from takedown.cases.services import OpenedCase, case_open
from takedown.core.access import Actor
from takedown.hashing.bundle import build_bundle, dump_bundle, make_item
from takedown.hashing.media import hash_file
from takedown.organizations.models import Organization
from takedown.organizations.services import organization_create, staff_create
from tests.conftest import totp_code

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"
PASSWORD = "correct horse battery staple"


def survivor_case_open(urls: list[str], **overrides: Any) -> OpenedCase:
    """A case as a survivor opens it with no photo fingerprints shared and no contact; `overrides`
    change any of case_open's answers (e.g. contact_preference="email", organization=...)."""
    answers: dict[str, Any] = {
        "signature_name": "Sam",
        "jurisdictions": ["US"],
        "content_kind": "authentic",
        "consent_share_hashes": False,
        "contact_preference": "none",
        "contact_email": "",
        **overrides,
    }
    return case_open(actor=Actor(kind="survivor"), urls=urls, **answers)


def shared_photo(n: int) -> Path:
    return PHOTOS / "kodak" / f"kodim{n:02d}.png"


def bundle_text(*paths: Path) -> str:
    """A real bundle, made with the hashing library the CLI uses."""
    items = []
    for path in paths:
        media = hash_file(path)
        items.append(make_item(media.kind, media.hashes))  # type: ignore[arg-type]
    return dump_bundle(build_bundle(items))


@pytest.fixture
def org_a() -> Organization:
    return organization_create(actor=Actor.system(), name="Helpline A", slug="helpline-a", kind="helpline")


@pytest.fixture
def org_b() -> Organization:
    return organization_create(actor=Actor.system(), name="NGO B", slug="ngo-b", kind="ngo")


def staff_client(organization: Organization | None, email: str) -> Client:
    """A client signed in as a staff member with TOTP (member of `organization` if given)."""
    from django.contrib.auth import get_user_model

    if organization is not None:
        user = staff_create(actor=Actor.system(), organization=organization, email=email, password=PASSWORD)
    else:
        user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    client = Client()
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    code = totp_code(secret)
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    return client
