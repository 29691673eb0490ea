"""Keyed digests of sensitive values, for uniqueness and exact lookups without decryption.

HMAC-SHA256 with a key derived from SECRET_KEY: without the key, a digest cannot be tested against
guessed values (a plain SHA-256 of a URL or hash could). Changing SECRET_KEY changes every digest,
so existing rows would no longer be recognised as duplicates: keep SECRET_KEY stable (it is not
the field-encryption key, which rotates independently).
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def keyed_digest(kind: str, value: str) -> str:
    key = hashlib.sha256(f"takedown-digest:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
