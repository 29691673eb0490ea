"""Publish the bank's snapshots now (what the beat's task does), e.g. before starting web workers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from takedown.matching.bank import BANK_SIGNALS, bank_snapshot_build, snapshot_store


class Command(BaseCommand):
    help = (
        "Build and publish the consented bank's snapshots where one is due (always the first time). Run it "
        "once before starting web workers on a large bank: without a snapshot each worker reads the whole "
        "bank from the database. Safe to run repeatedly."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        store = snapshot_store()
        if store is None:
            self.stdout.write("BANK_SNAPSHOT_STORE is none: nothing to build.")
            return
        for signal in BANK_SIGNALS:
            ref = bank_snapshot_build(signal=signal)
            if ref is None:
                latest = store.latest(signal)
                where = f"latest at change {latest.checkpoint}" if latest else "a build is already running"
                self.stdout.write(f"{signal}: not due ({where}).")
            else:
                self.stdout.write(self.style.SUCCESS(f"{signal}: published {ref.name} ({ref.size:,} bytes)."))
