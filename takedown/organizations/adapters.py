"""allauth adapters: staff-only accounts, and MFA secrets encrypted with the field keys."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.http import HttpRequest

from takedown.core.crypto import decrypt_text, encrypt_text


class StaffAccountAdapter(DefaultAccountAdapter):
    """No public sign-up: staff accounts are created for an organisation by its administrators."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class EncryptedMFAAdapter(DefaultMFAAdapter):
    """Store TOTP secrets and recovery-code seeds as Fernet tokens, rotated with the other fields."""

    def encrypt(self, text: str) -> str:
        return encrypt_text(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_text(encrypted_text)
