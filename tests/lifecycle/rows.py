"""Rows for any model, made from its field definitions, so tests cover models added later.

`make_row(model)` fills every field that needs a value (following foreign keys, creating the
rows they point to), gives each encrypted field a distinctive plaintext, and saves. It is for
tests that must touch every table with encrypted data (key rotation, backup and restore) without
a hand-written factory per model; a model whose constraints it cannot satisfy raises, naming it.
"""

from __future__ import annotations

import itertools
import secrets
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone

from takedown.core.fields import EncryptedJSONField, EncryptedTextField, encrypted_fields

_NUMBERS = itertools.count(10_000)


def encrypted_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if encrypted_fields(model)]


def _value(field: models.Field, label: str) -> Any:  # type: ignore[type-arg]
    if isinstance(field, EncryptedJSONField):
        return {"secret": f"{label}-{secrets.token_hex(6)}", "n": [1, 2]}
    if isinstance(field, EncryptedTextField):
        return f"{label}-{secrets.token_hex(6)}"
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now() - timedelta(days=1)
    if isinstance(field, models.DateField):
        return timezone.now().date()
    if isinstance(field, (models.IntegerField, models.FloatField, models.DecimalField)):
        return next(_NUMBERS)  # distinct, for unique columns (sequence numbers, change ids)
    if isinstance(field, models.GenericIPAddressField):
        return "192.0.2.1"
    if isinstance(field, models.EmailField):
        return f"{secrets.token_hex(4)}@example.org"
    if isinstance(field, models.URLField):
        return f"https://example.org/{secrets.token_hex(4)}"
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return secrets.token_bytes(16)
    if isinstance(field, models.UUIDField):
        import uuid

        return uuid.uuid4()
    if isinstance(field, (models.CharField, models.TextField, models.SlugField)):
        size = field.max_length or 32
        return secrets.token_hex(max(1, min(16, size // 2)))[:size]
    raise TypeError(f"no test value for {field.__class__.__name__} {field.model._meta.label}.{field.name}")


def make_row(model: type[models.Model], *, depth: int = 0) -> models.Model:
    if depth > 6:
        raise RecursionError(f"foreign keys nest too deep from {model._meta.label}")
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if (field.primary_key and field.auto_created) or isinstance(field, models.AutoField):
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        label = f"{model._meta.label}.{field.name}"
        if isinstance(field, models.ForeignKey):
            if field.null:
                continue
            values[field.name] = make_row(field.related_model, depth=depth + 1)
        elif isinstance(field, (EncryptedTextField, EncryptedJSONField)):
            values[field.name] = _value(field, label)  # every encrypted field holds a value
        elif field.has_default() or field.null or (field.blank and isinstance(field, models.CharField)):
            continue
        else:
            values[field.name] = _value(field, label)
    return model._default_manager.create(**values)
