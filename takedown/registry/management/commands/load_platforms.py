"""Load the platform registry from its data file (idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.core.access import Actor
from takedown.core.errors import InvalidInput
from takedown.registry.services import platforms_load


class Command(BaseCommand):
    help = "Load platforms (domains, channels, legal bases) from the registry file; loading twice changes nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", default=None, help="Registry file (default NOTICES_PLATFORMS_FILE).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"] or settings.NOTICES_PLATFORMS_FILE)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise CommandError(f"{path} is not a platform registry.")
        try:
            result = platforms_load(actor=Actor.system(), data=data)
        except InvalidInput as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        self.stdout.write(
            f"Platform registry {result.version}: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged, {result.deactivated} deactivated."
        )
