"""Field-level encryption with rotatable Fernet keys.

`settings.FIELD_ENCRYPTION_KEYS` lists keys newest first. New values are encrypted with the first
key; any listed key decrypts. Rotation is: put a new key first, deploy, run
`manage.py rotate_encryption_keys` (which re-encrypts every stored value with the first key), then
drop the old key. Fernet authenticates as well as encrypts, so a tampered value fails loudly
instead of decrypting to garbage.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


@lru_cache(maxsize=8)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(key.encode("ascii")) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "Every FIELD_ENCRYPTION_KEYS entry must be a urlsafe base64 Fernet key "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        ) from exc


def current_cipher() -> MultiFernet:
    """The cipher for the keys configured now (cached per key list, so overrides in tests apply)."""
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(plaintext: str) -> str:
    return current_cipher().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    return decrypt_bytes(token).decode("utf-8")


#: Plaintext of a deflated value starts with this (text and JSON never start with a NUL).
COMPRESSED: Final = b"\x00z"


def encrypt_compressed_text(plaintext: str) -> str:
    """Deflate, then encrypt: for large values that compress well (a found image's hashes)."""
    return encrypt_bytes(COMPRESSED + zlib.compress(plaintext.encode("utf-8"), 6))


def decrypt_stored_text(token: str) -> str:
    """The text of any token this project stores, deflated or not. Everything that reads tokens
    without knowing their field (backups, the residue scanner) must use this, or a deflated
    value would look like noise and hide what it holds."""
    plaintext = decrypt_bytes(token)
    if plaintext.startswith(COMPRESSED):
        plaintext = zlib.decompress(plaintext[len(COMPRESSED) :])
    return plaintext.decode("utf-8")


def encrypt_bytes(plaintext: bytes) -> str:
    return current_cipher().encrypt(plaintext).decode("ascii")


def decrypt_bytes(token: str) -> bytes:
    try:
        return current_cipher().decrypt(token.encode("ascii"))
    except InvalidToken as exc:
        raise DecryptionError("A stored value could not be decrypted with any configured key.") from exc


def rotate_token(token: str) -> str:
    """Re-encrypt a stored token with the newest key (keeps its original timestamp semantics)."""
    try:
        return current_cipher().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionError("A stored value could not be decrypted with any configured key.") from exc
