"""Field encryption: ciphertext at rest, key rotation, and refusal of meaningless lookups."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from takedown.core.crypto import DecryptionError, decrypt_stored_text
from tests.core.testapp.models import SecretNote

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_row(note_id: int) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT body, details FROM testapp_secretnote WHERE id = %s", [note_id])
        body, details = cursor.fetchone()
    return body, details


def test_database_holds_ciphertext_and_python_sees_plaintext() -> None:
    note = SecretNote.objects.create(title="t", body="call me on +44 7700 900123", details={"email": "s@example.org"})
    body, details = raw_row(note.pk)
    assert "7700" not in body
    assert "example.org" not in details
    assert body.startswith("gAAAA")
    assert details.startswith("gAAAA")
    fresh = SecretNote.objects.get(pk=note.pk)
    assert fresh.body == "call me on +44 7700 900123"
    assert fresh.details == {"email": "s@example.org"}


def test_same_plaintext_encrypts_differently() -> None:
    a = SecretNote.objects.create(title="a", body="same")
    b = SecretNote.objects.create(title="b", body="same")
    assert raw_row(a.pk)[0] != raw_row(b.pk)[0]


def test_null_stays_null() -> None:
    note = SecretNote.objects.create(title="n", body=None, details=None)
    assert raw_row(note.pk) == (None, None)
    assert SecretNote.objects.filter(body__isnull=True).count() == 1


def test_equality_lookup_on_ciphertext_is_refused() -> None:
    with pytest.raises(FieldError):
        list(SecretNote.objects.filter(body="anything"))


def test_rotated_key_still_reads_old_rows_and_command_reencrypts() -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        note = SecretNote.objects.create(title="r", body="old secret", details=[1, 2])
    old_body, _ = raw_row(note.pk)
    assert Fernet(OLD_KEY.encode()).decrypt(old_body.encode()) == b"old secret"

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        # The new key is first: old rows still read.
        assert SecretNote.objects.get(pk=note.pk).body == "old secret"
        call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
        new_body, _new_details = raw_row(note.pk)
        assert new_body != old_body
        assert Fernet(NEW_KEY.encode()).decrypt(new_body.encode()) == b"old secret"

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        # After rotation the old key can be dropped.
        fresh = SecretNote.objects.get(pk=note.pk)
        assert fresh.body == "old secret"
        assert fresh.details == [1, 2]

    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]), pytest.raises(DecryptionError):
        SecretNote.objects.get(pk=note.pk)


def test_tampered_ciphertext_fails_loudly() -> None:
    note = SecretNote.objects.create(title="x", body="value")
    body, _ = raw_row(note.pk)
    tampered = body[:-6] + ("A" if body[-6] != "A" else "B") + body[-5:]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_secretnote SET body = %s WHERE id = %s", [tampered, note.pk])
    with pytest.raises(DecryptionError):
        SecretNote.objects.get(pk=note.pk)


def test_mfa_secrets_are_encrypted_and_rotated() -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="u", email="u@example.org", password="x" * 14)
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    stored = Authenticator.objects.get(user=user).data["secret"]
    assert "JBSWY3DPEHPK3PXP" not in stored
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    rotated = Authenticator.objects.get(user=user).data["secret"]
    assert Fernet(NEW_KEY.encode()).decrypt(rotated.encode()) == b"JBSWY3DPEHPK3PXP"


def test_compressed_json_field_reads_both_forms_and_stores_less() -> None:
    """FoundMedium.hashes deflates before encrypting (10,000+ window hashes per image); rows
    written before that are still read, and the token is a Fernet token like any other."""
    from takedown.core.fields import EncryptedJSONField
    from takedown.matching.models import FoundMedium

    value = [["pdq", f"{i:064x}", 90, f"win-k55@s{i},{i},100,120"] for i in range(2000)]
    compressed, plain = EncryptedJSONField(compress=True), EncryptedJSONField()
    token, old_token = compressed.get_prep_value(value), plain.get_prep_value(value)
    assert token.startswith("gAAAA") and "win-k55" not in token
    assert compressed.from_db_value(token, None, connection) == value
    assert compressed.from_db_value(old_token, None, connection) == value  # written before
    assert plain.from_db_value(token, None, connection) == value  # the reader looks at the plaintext
    # Readers of any token (backups, the residue scanner) see the text, not deflated noise.
    assert "win-k55@s5," in decrypt_stored_text(token)
    assert len(token) < len(old_token) / 2
    assert FoundMedium._meta.get_field("hashes").compress is True
    assert compressed.deconstruct()[3]["compress"] is True
