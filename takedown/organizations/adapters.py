"""allauth adapters: staff-only accounts, and MFA secrets encrypted with the field keys."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import render

from takedown.core.crypto import decrypt_text, encrypt_text
from takedown.core.http import client_ip


class StaffAccountAdapter(DefaultAccountAdapter):
    """No public sign-up: staff accounts are created for an organisation by its administrators."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth counts the attempt before the password is checked (under a cache lock, so
        parallel attempts cannot pass together); a refused attempt answers 429 like every other
        limit, not a form error with 200."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            if exc.code != "too_many_login_attempts":
                raise
            page = render(request, "error.html", {"status": 429, "message": exc.messages[0]}, status=429)
            raise ImmediateHttpResponse(page) from exc

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address allauth's limits count: the same rule as every other limit
        (`TRUSTED_PROXY_COUNT`), not the proxy's address (issue 14, defect 5)."""
        return client_ip(request)


class EncryptedMFAAdapter(DefaultMFAAdapter):
    """Store TOTP secrets and recovery-code seeds as Fernet tokens, rotated with the other fields."""

    def encrypt(self, text: str) -> str:
        return encrypt_text(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_text(encrypted_text)
