"""Key rotation on a populated database: every encrypted column of every model (found from the
models, so tables added later are included) is re-encrypted, after which the old key can be
removed and every value still reads the same.

The database holds a real populated case (checks, found media, a sent notice, notes) plus rows
made from the field definitions of every model with an encrypted field, several batches' worth
(the rotation works in batches; a small batch size makes it cross many batch boundaries), and a
staff member's TOTP secret (allauth's JSON, rotated separately).
"""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.db import connection
from django.db.models import Model
from django.test import override_settings
from pytest_django import Settings

from takedown.core.access import Actor
from takedown.core.crypto import DecryptionError
from takedown.core.fields import encrypted_fields
from takedown.core.services import encryption_rotate_all
from takedown.organizations.services import organization_create, staff_create
from tests.lifecycle.populate import populate_case
from tests.lifecycle.rows import encrypted_models, make_row
from tests.matching.conftest import Site, site  # noqa: F401 - fixture
from tests.notices.conftest import registry  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("registry")]

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
ROWS_PER_MODEL = 25


def snapshot() -> dict[tuple[str, Any], tuple[Any, ...]]:
    """Every encrypted value, decrypted through the ORM, per (model, primary key)."""
    values: dict[tuple[str, Any], tuple[Any, ...]] = {}
    for model in encrypted_models():
        names = [field.name for field in encrypted_fields(model)]
        for pk, *row in model._default_manager.values_list("pk", *names):
            values[(model._meta.label, pk)] = tuple(row)
    return values


def raw_tokens(model: type[Model]) -> list[str]:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in encrypted_fields(model))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {quote(model._meta.db_table)}")
        return [token for row in cursor.fetchall() for token in row if token is not None]


def test_rotation_of_a_populated_database_lets_the_old_key_go(site: Site, settings: Settings) -> None:  # noqa: F811
    settings.CHECK_ON_REPORT = True
    settings.FETCH_ALLOW_LOOPBACK = True
    # The platform registry was loaded with the settings' key: it is an old key too.
    old_keys = [OLD_KEY, *settings.FIELD_ENCRYPTION_KEYS]
    with override_settings(FIELD_ENCRYPTION_KEYS=old_keys):
        populate_case(site)
        for model in encrypted_models():
            for _ in range(ROWS_PER_MODEL):
                make_row(model)
        org = organization_create(actor=Actor.system(), name="Rotation", slug="rotation", kind="helpline")
        user = staff_create(actor=Actor.system(), organization=org, email="rot@example.org", password="x" * 16)
        totp_secret = generate_totp_secret()
        TOTP.activate(user, totp_secret)
        before = snapshot()

    models = encrypted_models()
    populated = {label for label, _pk in before}
    assert populated == {m._meta.label for m in models}, "a model with encrypted fields has no rows"
    tokens_before = {m._meta.label: raw_tokens(m) for m in models}
    assert all(len(tokens) >= ROWS_PER_MODEL for tokens in tokens_before.values())
    new = Fernet(NEW_KEY.encode())
    old = MultiFernet([Fernet(key.encode()) for key in old_keys])

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, *old_keys]):
        rewritten = encryption_rotate_all(batch_size=7)
    for model in models:
        assert rewritten[model._meta.label] == model._default_manager.count()
    assert rewritten["mfa.Authenticator"] == 1

    for model in models:  # at rest: every token is now the new key's, and none the old key's
        for token in raw_tokens(model):
            new.decrypt(token.encode())
            with pytest.raises(InvalidToken):
                old.decrypt(token.encode())

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):  # the old key removed
        assert snapshot() == before
        from allauth.mfa.models import Authenticator

        secret = Authenticator.objects.get(user=user).data["secret"]
        assert new.decrypt(secret.encode()).decode() == totp_secret

    with override_settings(FIELD_ENCRYPTION_KEYS=old_keys), pytest.raises(DecryptionError):
        snapshot()  # and the old keys alone no longer read anything
