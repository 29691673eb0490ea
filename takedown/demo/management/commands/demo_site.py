"""Serve the local demo site on 127.0.0.1 (development only): the pages the demo cases report."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.demo.site import make_server


class Command(BaseCommand):
    help = "Serve the demo site on 127.0.0.1 (DEMO_SITE_PORT, 8001 by default) until stopped (development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=None, help="Port on 127.0.0.1 (default: DEMO_SITE_PORT).")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("The demo site is for development only.")
        port = options["port"] or settings.DEMO_SITE_PORT
        try:
            server = make_server(port)
        except OSError as exc:
            raise CommandError(f"Cannot serve the demo site on 127.0.0.1:{port}: {exc.strerror or exc}") from exc
        self.stdout.write(f"Demo site on http://127.0.0.1:{port}/")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
