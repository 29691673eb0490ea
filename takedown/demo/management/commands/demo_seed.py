"""Load the demo organisation, its advocate and a survivor case in every state, and print how to sign in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from takedown.demo.seed import RegistryNotLoaded, demo_cases_seed
from takedown.demo.site import DemoSiteUnavailable
from takedown.organizations.demo import DEMO_ORGANIZATION_SLUG, demo_seed
from takedown.organizations.models import Organization


class Command(BaseCommand):
    help = (
        "Create the demo organisation, an advocate with TOTP enrolled and a survivor case in every state "
        "(checked against the local demo site), with a new PIN each run (development only)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is for development only.")
        credentials = demo_seed()
        try:
            cases = demo_cases_seed(
                organization=Organization.objects.get(slug=DEMO_ORGANIZATION_SLUG), advocate_email=credentials.email
            )
        except (DemoSiteUnavailable, RegistryNotLoaded) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            "\n".join(
                [
                    "Demo advocate account (development only):",
                    f"  email:        {credentials.email}",
                    f"  password:     {credentials.password}",
                    f"  TOTP secret:  {credentials.totp_secret}",
                    f"  TOTP URI:     {credentials.otpauth_uri}",
                    "  Add the secret to an authenticator app, or print the current code with",
                    "  .venv/bin/python manage.py demo_totp_code",
                    "Demo survivor cases (sign in at /case/sign-in/; each run gives them a new PIN):",
                    *(case.line for case in cases),
                ]
            )
        )
