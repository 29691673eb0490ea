from django.db import models

from takedown.core.fields import EncryptedJSONField, EncryptedTextField


class SecretNote(models.Model):
    """A model with both encrypted field kinds, as the cases app will have."""

    title = models.CharField(max_length=50)
    body = EncryptedTextField(null=True, blank=True)
    details = EncryptedJSONField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title


class TaskEffect(models.Model):
    """The effect of the idempotent test task: at most one row per key."""

    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
