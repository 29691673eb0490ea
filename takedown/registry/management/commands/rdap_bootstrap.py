"""Refresh IANA's RDAP bootstrap files (which registry holds which addresses) through the SSRF-safe fetcher."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from takedown.core.access import Actor
from takedown.registry.hosting import RdapFailure
from takedown.registry.services import rdap_bootstrap_refresh


class Command(BaseCommand):
    help = (
        "Fetch IANA's RDAP bootstrap files (NOTICES_RDAP_BOOTSTRAP_URL) and store them, so hosting-provider "
        "lookups know which registry to ask. Run it monthly (lookups also refresh files older than "
        "NOTICES_RDAP_BOOTSTRAP_MAX_AGE_DAYS)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = rdap_bootstrap_refresh(actor=Actor.system())
        except RdapFailure as failure:
            raise CommandError(f"RDAP bootstrap not refreshed ({failure.reason}): {failure.detail}") from failure
        self.stdout.write(f"RDAP bootstrap refreshed: {count} files.")
