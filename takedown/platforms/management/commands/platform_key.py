"""`manage.py platform_key create|rotate|revoke|list`: API keys for platform accounts.

The new key is printed once; only its hash is stored. `create` makes the platform's API account
on first use (`--vetted` marks it vetted, which the feed and lookup scopes require).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.core.access import Actor
from takedown.core.errors import TakedownError
from takedown.platforms import services
from takedown.platforms.models import ApiKey, PlatformAccount
from takedown.registry.models import Platform


class Command(BaseCommand):
    help = "Create, rotate, revoke or list platform API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key for a platform (by registry slug).")
        create.add_argument("platform", help="The platform's slug in the registry.")
        create.add_argument("--scopes", default="notices", help="Comma-separated: notices,lookup,feed.")
        create.add_argument("--name", default="")
        create.add_argument("--vetted", action="store_true", help="Mark the platform's account vetted first.")
        rotate = sub.add_parser("rotate", help="Replace a key; the old one works for the grace period.")
        rotate.add_argument("prefix")
        rotate.add_argument("--grace-seconds", type=int, default=None)
        revoke = sub.add_parser("revoke", help="Revoke a key now.")
        revoke.add_argument("prefix")
        listing = sub.add_parser("list", help="List a platform's keys (prefixes only).")
        listing.add_argument("platform")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system()
        try:
            action = options["action"]
            if action == "create":
                platform = Platform.objects.filter(slug=options["platform"]).first()
                if platform is None:
                    raise CommandError(f"No platform with slug {options['platform']!r}.")
                account = PlatformAccount.objects.filter(platform=platform).first()
                if account is None:
                    account = services.platform_account_create(actor=actor, platform=platform)
                if options["vetted"] and not account.is_vetted:
                    account = services.platform_account_set_vetted(actor=actor, account=account, is_vetted=True)
                scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
                issued = services.api_key_create(actor=actor, account=account, scopes=scopes, name=options["name"])
                self.stdout.write(f"{issued.key.prefix} scopes={','.join(issued.key.scopes)}")
                self.stdout.write(f"key (shown once): {issued.secret}")
            elif action == "rotate":
                issued = services.api_key_rotate(
                    actor=actor, key=self._key(options["prefix"]), grace_seconds=options["grace_seconds"]
                )
                self.stdout.write(f"{options['prefix']} replaced by {issued.key.prefix}")
                self.stdout.write(f"key (shown once): {issued.secret}")
            elif action == "revoke":
                key = services.api_key_revoke(actor=actor, key=self._key(options["prefix"]))
                self.stdout.write(f"{key.prefix} revoked at {key.revoked_at}")
            else:
                for key in ApiKey.objects.filter(account__platform__slug=options["platform"]):
                    self.stdout.write(
                        f"{key.prefix} scopes={','.join(key.scopes)} last_used={key.last_used_at} "
                        f"expires={key.expires_at} revoked={key.revoked_at}"
                    )
        except TakedownError as exc:
            raise CommandError(exc.message) from None

    def _key(self, prefix: str) -> ApiKey:
        key = ApiKey.objects.filter(prefix=prefix).first()
        if key is None:
            raise CommandError(f"No key with prefix {prefix!r}.")
        return key
