"""Model fields whose values are encrypted at rest (see `core.crypto`).

The database only ever sees Fernet tokens; Python code sees plaintext. Encrypted fields cannot be
filtered or indexed by value: a model that must look a value up (for example a hash index) stores
a separate keyed digest or derived index alongside, and says why next to it.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from takedown.core.crypto import decrypt_stored_text, decrypt_text, encrypt_compressed_text, encrypt_text


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text value stored as a Fernet token."""

    description = "Text encrypted at rest with the field-encryption keys"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return decrypt_text(value)

    def to_python(self, value: Any) -> str | None:
        # Values reaching to_python come from forms or Python code, never raw tokens.
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt_text(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        # Equality on ciphertext would silently never match (Fernet is randomised); refuse it.
        if lookup_name not in {"isnull"}:
            return None
        return super().get_lookup(lookup_name)


class EncryptedJSONField(models.TextField):  # type: ignore[type-arg]
    """A JSON-serialisable value stored as one Fernet token.

    ``compress=True`` deflates the JSON before encrypting it, for large values that compress
    well: a found image's checking-side hashes (10,000+ search windows, each a hex hash and a
    label) are ~1.2 MB of JSON and ~0.4 MB deflated. Values written before compression was
    turned on are still read (the reader looks at the plaintext, not at the field's setting).
    """

    description = "JSON encrypted at rest with the field-encryption keys"
    # django-stubs reads these to type the attribute as the JSON value, not as text.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def __init__(self, *args: Any, compress: bool = False, **kwargs: Any) -> None:
        self.compress = compress
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.compress:
            kwargs["compress"] = True
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return json.loads(decrypt_stored_text(value))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        if self.compress:
            return encrypt_compressed_text(text)
        return encrypt_text(text)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in {"isnull"}:
            return None
        return super().get_lookup(lookup_name)

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj))


def encrypted_fields(model: type[models.Model]) -> list[models.Field]:  # type: ignore[type-arg]
    """The encrypted fields of a model, for key rotation."""
    return [field for field in model._meta.get_fields() if isinstance(field, (EncryptedTextField, EncryptedJSONField))]
