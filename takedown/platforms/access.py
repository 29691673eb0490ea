"""The chokepoint for platform callers: key -> caller, scope and vetting checks, and object access.

Every API view and the portal turn credentials into a `PlatformCaller` here, and every id a
platform sends becomes an object only through the `access_*` helpers below, which filter by the
caller's platform and answer `NotFound` alike for missing and not-yours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from takedown.cases.models import FeedEntry, FeedStatus
from takedown.core.access import Actor
from takedown.core.errors import NotFound, RateLimited, TakedownError
from takedown.core.models import ActorKind
from takedown.core.ratelimit import attempt_record
from takedown.notices.models import Notice
from takedown.platforms import keys
from takedown.platforms.models import VETTED_SCOPES, ApiKey, WebhookSubscription


def _pk(raw: int | str | None) -> int | None:
    """A database id from a path parameter, or None (text, zero, negative, or past bigint)."""
    try:
        pk = int(str(raw))
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk < 2**63 else None


class Unauthenticated(TakedownError):
    """No key, or a key that is unknown, revoked or expired (deliberately one answer)."""

    status_code = 401
    code = "unauthenticated"


class Forbidden(TakedownError):
    """A valid key without the scope (or a platform not vetted for it)."""

    status_code = 403
    code = "forbidden"


@dataclass(frozen=True)
class PlatformCaller:
    key_id: int
    key_prefix: str
    account_id: int
    platform_id: int
    scopes: frozenset[str]
    is_vetted: bool
    rate_limit_per_minute: int

    @property
    def actor(self) -> Actor:
        return Actor(kind=ActorKind.PLATFORM, platform_id=self.platform_id)


def _usable_keys() -> QuerySet[ApiKey]:
    now = timezone.now()
    return ApiKey.objects.filter(
        revoked_at__isnull=True, account__is_active=True, account__platform__is_active=True
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def caller_for_key(raw: str | None) -> PlatformCaller:
    """The caller a presented key stands for; anything wrong with it is one `Unauthenticated`."""
    parts = keys.split_key(raw or "")
    key = None
    if parts is not None:
        key = _usable_keys().select_related("account").filter(prefix=parts[0]).first()
    if key is None or parts is None or not keys.secret_matches(parts[1], key.secret_hash):
        raise Unauthenticated(_("A valid API key is required."))
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(seconds=60):
        # At most one write a minute per key: last-used is for humans, not an access log (that is
        # the audit trail).
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return caller_from_key(key)


def caller_from_key(key: ApiKey) -> PlatformCaller:
    account = key.account
    return PlatformCaller(
        key_id=key.pk,
        key_prefix=key.prefix,
        account_id=account.pk,
        platform_id=account.platform_id,
        scopes=frozenset(key.scopes),
        is_vetted=account.is_vetted,
        rate_limit_per_minute=account.rate_limit_per_minute or settings.PLATFORM_API_RATE_LIMIT_PER_MINUTE,
    )


def caller_for_key_id(key_id: int | None) -> PlatformCaller:
    """For the portal session, which keeps the key's id: the key must still be usable."""
    key = _usable_keys().select_related("account").filter(pk=key_id).first() if key_id else None
    if key is None:
        raise Unauthenticated(_("Please sign in again."))
    return caller_from_key(key)


def require_scope(caller: PlatformCaller, scope: str) -> None:
    """The key must carry the scope, and feed/lookup scopes need a vetted platform as well.

    Vetting is checked here on every call as well as when a key is made, so un-vetting a platform
    cuts off its existing keys at once.
    """
    if scope not in caller.scopes:
        raise Forbidden(_("This API key does not have the %(scope)s scope.") % {"scope": scope}, code="missing_scope")
    if scope in VETTED_SCOPES and not caller.is_vetted:
        raise Forbidden(_("Only vetted platforms may use the %(scope)s scope.") % {"scope": scope}, code="not_vetted")


def rate_limit_count(caller: PlatformCaller) -> None:
    """Count one call against the key's per-minute budget (shared by every process through Redis)."""
    count = attempt_record(f"api:key:{caller.key_id}", window_seconds=60)
    if count > caller.rate_limit_per_minute:
        raise RateLimited(_("Too many requests for this API key. Please wait a minute."))


def notices_for(caller: PlatformCaller) -> QuerySet[Notice]:
    """Notices addressed to the caller's platform that were actually sent (drafts are not theirs yet)."""
    return Notice.objects.filter(platform_id=caller.platform_id, sent_at__isnull=False, content_json__isnull=False)


def access_notice(caller: PlatformCaller, notice_id: int | str | None) -> Notice:
    pk = _pk(notice_id)
    notice = notices_for(caller).select_related("case__organization", "platform").filter(pk=pk).first() if pk else None
    if notice is None:
        raise NotFound(_("We could not find that notice."))
    return notice


def access_webhook(caller: PlatformCaller, webhook_id: int | str | None) -> WebhookSubscription:
    pk = _pk(webhook_id)
    hook = (
        WebhookSubscription.objects.filter(pk=pk, account_id=caller.account_id, is_active=True).first() if pk else None
    )
    if hook is None:
        raise NotFound(_("We could not find that webhook."))
    return hook


def webhooks_of(caller: PlatformCaller) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(account_id=caller.account_id, is_active=True)


def access_feed_entry(caller: PlatformCaller, public_id: str | None) -> FeedEntry:
    """A hash the caller can see in the feed (active, or held after feedback); tombstones are gone."""
    entry = (
        FeedEntry.objects.filter(public_id=str(public_id)[:40], status=FeedStatus.ACTIVE).first() if public_id else None
    )
    if entry is None or not caller.is_vetted:
        raise NotFound(_("We could not find that hash."))
    return entry
