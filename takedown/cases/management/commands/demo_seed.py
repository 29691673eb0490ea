"""Load the demo organisation and advocate, and print how to sign in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from takedown.organizations.demo import demo_seed


class Command(BaseCommand):
    help = "Create the demo organisation and an advocate with TOTP enrolled (development only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is for development only.")
        credentials = demo_seed()
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
                ]
            )
        )
