"""Print the current TOTP code of the demo advocate (development only)."""

from __future__ import annotations

import time
from typing import Any

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from takedown.organizations.demo import demo_credentials


class Command(BaseCommand):
    help = "Print the demo advocate's current TOTP code, so the demo works without a phone."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("This command exists only for the development demo.")
        credentials = demo_credentials()
        counter = int(time.time()) // 30
        self.stdout.write(format_hotp_value(hotp_value(credentials.totp_secret, counter)))
