"""Write a trusted-flagger organisation's DSA Art. 22(3) report data (CSV) for one year."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.core.access import Actor
from takedown.core.errors import TakedownError
from takedown.notices.services import trusted_flagger_report_export
from takedown.organizations.models import Organization


class Command(BaseCommand):
    help = (
        "The notices a trusted-flagger organisation submitted under the DSA in a year, by hosting provider, "
        "type of content and the action taken (Art. 22(3)), as CSV."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="The organisation's short name (slug).")
        parser.add_argument("year", type=int)
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organisation {options['organization']!r}.")
        try:
            data = trusted_flagger_report_export(actor=Actor.system(), organization=organization, year=options["year"])
        except TakedownError as exc:
            raise CommandError(exc.message) from exc
        if options["output"]:
            Path(options["output"]).write_text(data, encoding="utf-8")
        else:
            self.stdout.write(data, ending="")
