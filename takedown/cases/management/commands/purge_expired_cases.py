"""Delete closed cases whose retention period has ended (what the beat task does, on demand)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from takedown.cases.services import cases_purge_expired


class Command(BaseCommand):
    help = (
        "Delete closed cases closed more than CASE_RETENTION_DAYS ago, with everything they hold; "
        "the audit keeps a non-identifying 'case.purged' event for each. Safe to run repeatedly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="at most this many cases per batch")

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        while purged := cases_purge_expired(limit=options["limit"]):
            total += purged
        self.stdout.write(
            self.style.SUCCESS(f"Purged {total} closed case(s) older than {settings.CASE_RETENTION_DAYS} days.")
        )
