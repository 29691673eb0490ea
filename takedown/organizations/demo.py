"""Demo data for the embedded default: one organisation and one advocate with TOTP enrolled.

The credentials and TOTP secret are generated once per checkout into var/ (git-ignored), so each
installation has its own, and the run command can print them every time it starts.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.db import transaction

from takedown.core.access import Actor
from takedown.organizations.models import OrganizationKind, Role
from takedown.organizations.services import organization_create, staff_create

DEMO_EMAIL = "advocate@demo.takedown.test"
DEMO_ORGANIZATION_SLUG = "demo-helpline"


@dataclass(frozen=True)
class DemoCredentials:
    email: str
    password: str
    totp_secret: str

    @property
    def otpauth_uri(self) -> str:
        issuer = settings.MFA_TOTP_ISSUER
        return f"otpauth://totp/{issuer}:{self.email}?secret={self.totp_secret}&issuer={issuer}"


def _credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo_credentials.json"


def demo_credentials() -> DemoCredentials:
    path = _credentials_file()
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        return DemoCredentials(**data)
    credentials = DemoCredentials(
        email=DEMO_EMAIL,
        password="demo-" + secrets.token_urlsafe(12),
        totp_secret=generate_totp_secret(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials.__dict__), encoding="utf-8")
    path.chmod(0o600)
    return credentials


@transaction.atomic
def demo_seed() -> DemoCredentials:
    """Create or refresh the demo organisation and advocate (idempotent)."""
    credentials = demo_credentials()
    actor = Actor.system()
    organization = organization_create(
        actor=actor,
        name="Demo Helpline",
        slug=DEMO_ORGANIZATION_SLUG,
        kind=OrganizationKind.HELPLINE,
        notice_contact_email="cases@demo.takedown.test",
    )
    user = staff_create(
        actor=actor,
        organization=organization,
        email=credentials.email,
        password=credentials.password,
        role=Role.ADVOCATE,
    )
    user.set_password(credentials.password)
    user.save(update_fields=["password"])
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, credentials.totp_secret)
    return credentials
