"""Re-encrypt every encrypted field with the first key in FIELD_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from takedown.core.services import encryption_rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt all encrypted fields with the newest key (the first in FIELD_ENCRYPTION_KEYS). "
        "Run after putting a new key first; remove the old key only after this succeeds."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rewritten = encryption_rotate_all()
        for label, count in rewritten.items():
            self.stdout.write(f"{label}: {count} row(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {sum(rewritten.values())} row(s) in total."))
