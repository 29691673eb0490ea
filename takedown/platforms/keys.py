"""API key format and hashing (no database): `tdk_live_<8 hex>.<43 url-safe characters>`.

The part before the dot is the prefix: stored in clear, shown in lists and the audit log, and
used to find the key. The part after it is 256 random bits; only a keyed SHA-256 of it is
stored (a pepper from settings, so a leaked table alone cannot be tested offline even if the
secret space were small, which it is not).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings

PREFIX_HEAD = "tdk_live_"
_KEY_RE = re.compile(r"^(tdk_live_[0-9a-f]{8})\.([A-Za-z0-9_-]{43})$")


def _pepper() -> bytes:
    configured: str = settings.PLATFORM_API_KEY_PEPPER
    return (configured or f"takedown-api-key:{settings.SECRET_KEY}").encode()


def secret_hash(secret: str) -> str:
    return hmac.new(_pepper(), secret.encode(), hashlib.sha256).hexdigest()


def new_key() -> tuple[str, str, str]:
    """(full key shown once, prefix, stored hash)."""
    prefix = PREFIX_HEAD + secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    return f"{prefix}.{secret}", prefix, secret_hash(secret)


def split_key(raw: str) -> tuple[str, str] | None:
    match = _KEY_RE.match(raw.strip())
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored)


def case_token(*, platform_id: int, case_id: int) -> str:
    """An opaque per-platform case token: the same case gives each platform a different token.

    Two matches from one case carry the same token for one platform (it may group them), but
    tokens cannot be compared across platforms or turned back into a case.
    """
    key = (settings.PLATFORM_CASE_TOKEN_KEY or f"takedown-case-token:{settings.SECRET_KEY}").encode()
    digest = hmac.new(key, f"{platform_id}:{case_id}".encode(), hashlib.sha256).hexdigest()
    return "ct_" + digest[:32]
