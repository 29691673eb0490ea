"""Platform accounts, their API keys and webhooks, and the consented hash feed they read.

A platform account is the API-side face of a `notices.Platform` (the registry row notices are
addressed to). Keys are stored as a keyed SHA-256 of a 256-bit secret, never the secret; a key is
found by its visible prefix and then compared in constant time.

The hash feed itself (`cases.FeedEntry`) belongs to the cases app, which keeps it in step with
consent and withdrawal in its own transactions; this app reads it and records platforms'
feedback on its entries.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from takedown.core.fields import EncryptedTextField
from takedown.core.models import TimestampedModel


class Scope(models.TextChoices):
    NOTICES = "notices", _("Notices addressed to the platform")
    LOOKUP = "lookup", _("Batch hash lookup")
    FEED = "feed", _("Consented hash feed")


# Scopes that reveal consented hashes (or whether content matches them): vetted platforms only.
VETTED_SCOPES = frozenset({Scope.LOOKUP, Scope.FEED})


class PlatformAccount(TimestampedModel):
    """A platform's API account. `is_vetted` is set by an administrator after due diligence."""

    platform = models.OneToOneField("registry.Platform", on_delete=models.PROTECT, related_name="api_account")
    is_vetted = models.BooleanField(_("vetted for the hash feed and lookups"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # Requests per minute per key; 0 means the default from settings.
    rate_limit_per_minute = models.PositiveIntegerField(_("requests per minute per key"), default=0)

    class Meta:
        ordering = ["platform__name"]

    def __str__(self) -> str:
        return f"API account of {self.platform}"


class ApiKey(TimestampedModel):
    """One API key. `prefix` is shown everywhere (lists, logs, audit); the secret only once."""

    account = models.ForeignKey(PlatformAccount, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    # A rotated key stays valid until `expires_at` (the grace period), then stops working.
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.prefix


class WebhookEvent(models.TextChoices):
    NOTICE_SENT = "notice.sent", _("A notice was sent to the platform")
    PING = "ping", _("A test delivery")


class WebhookSubscription(TimestampedModel):
    """Where a platform wants events delivered, signed with its own secret."""

    account = models.ForeignKey(PlatformAccount, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    secret = EncryptedTextField(_("signing secret"))
    events = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"webhook {self.pk} of {self.account_id}: {self.url}"


class WebhookDelivery(models.Model):
    """One event sent to one subscription. `delivery_id` is unique: receivers reject a repeat."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered = models.BooleanField(default=False)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} ({self.event})"


class FeedbackVerdict(models.TextChoices):
    # The platform found the hash on its service and has not decided yet (HMA's "matched"); a
    # decision replaces it, and a later sighting does not undo a decision.
    SEEN = "seen", _("Seen, no decision yet")
    BLOCKED = "blocked", _("Blocked")
    NOT_BLOCKED = "not_blocked", _("Not blocked")
    FALSE_POSITIVE = "false_positive", _("False positive")


class HashFeedback(TimestampedModel):
    """A platform's latest verdict on one hash (one row per platform and hash)."""

    entry = models.ForeignKey("cases.FeedEntry", on_delete=models.CASCADE, related_name="feedback")
    account = models.ForeignKey(PlatformAccount, on_delete=models.CASCADE, related_name="feedback")
    verdict = models.CharField(max_length=16, choices=FeedbackVerdict.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "account"], name="hashfeedback_one_per_platform")]

    def __str__(self) -> str:
        return f"{self.account_id} on {self.entry_id}: {self.verdict}"
