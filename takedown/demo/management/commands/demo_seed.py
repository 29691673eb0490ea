"""Load the demo organisation, its advocate and two survivor cases, and print how to sign in.

It lives in the cases app (not organizations, where the organisation and advocate come from)
because it seeds cases too, and a floor may only call the floors below it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from takedown.cases.demo import demo_cases_seed
from takedown.organizations.demo import DEMO_ORGANIZATION_SLUG, demo_seed
from takedown.organizations.models import Organization


class Command(BaseCommand):
    help = (
        "Create the demo organisation, an advocate with TOTP enrolled and two survivor cases "
        "(open, in progress) with a new PIN each run (development only)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is for development only.")
        credentials = demo_seed()
        cases = demo_cases_seed(
            organization=Organization.objects.get(slug=DEMO_ORGANIZATION_SLUG), advocate_email=credentials.email
        )
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
