"""The shared kernel's models: a timestamped base and the append-only audit/timeline event."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from takedown.core.audit_actions import action_label


class TimestampedModel(models.Model):
    """Abstract base: every row knows when it was created and last changed (UTC)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    """Bulk update and delete are refused: the audit trail is evidence and must not be rewritten."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")


class ActorKind(models.TextChoices):
    SYSTEM = "system", _("System")
    SURVIVOR = "survivor", _("Survivor")
    STAFF = "staff", _("Staff")
    PLATFORM = "platform", _("Platform")
    ANONYMOUS = "anonymous", _("Anonymous")


class AuditEvent(models.Model):
    """One thing that happened, by whom, to what. Also the source of case timelines.

    `subject_type`/`subject_id` name the object (for example "case", "42"); `organization_id`
    scopes events for advocates. `data` holds non-sensitive details only: never hashes, contact
    details or anything a survivor typed. Rows are never updated or deleted through the ORM;
    withdrawal of a case removes its sensitive data elsewhere, while the fact that things happened
    stays (and carries nothing sensitive).
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organization = models.ForeignKey(
        "organizations.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=32, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.subject_type}:{self.subject_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("Audit events are append-only.")

    @property
    def label(self) -> str:
        """What happened, in plain words (the timeline and the court report show this, not the code)."""
        return action_label(self.action)


class OutboxMessage(models.Model):
    """A change recorded by a lower layer for one consumer in a higher layer (see `core.outbox`).

    The row is written in the same transaction as the change and deleted in the same transaction
    as its consumer's effect, so the effect happens once the change commits, and is never lost.
    `payload` holds ids and codes only.
    """

    topic = models.CharField(max_length=64)
    consumer = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["available_at", "id"])]

    def __str__(self) -> str:
        return f"{self.topic} for {self.consumer} (message {self.pk})"
