"""Bring the hash feed in line with the vouching rule (run once after upgrading to it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from takedown.cases.services import cases_feed_resync


class Command(BaseCommand):
    help = (
        "Re-apply the feed's rules to every case with shared hashes: hashes shared before vouching "
        "existed (no advocate vouched for them) become tombstones that platforms delete at their next "
        "fetch. Safe to run repeatedly."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        cases, changed = cases_feed_resync()
        self.stdout.write(self.style.SUCCESS(f"Checked {cases} case(s); {changed} feed entr(y/ies) changed."))
