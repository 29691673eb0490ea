"""Write operations of the shared kernel."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.apps import apps
from django.db import connection, transaction

from takedown.core.crypto import rotate_token
from takedown.core.fields import encrypted_fields

ROTATION_BATCH_SIZE = 500


def encryption_rotate_all(*, batch_size: int = ROTATION_BATCH_SIZE) -> dict[str, int]:
    """Re-encrypt every encrypted column with the newest key; returns rows rewritten per model.

    Works on the raw tokens with SQL rather than through model instances, so values are never
    decrypted into Python objects that a save() could re-encrypt twice, and rows written
    concurrently with the newest key are simply rotated again (idempotent). Each batch is locked
    and committed on its own so a long rotation does not hold one huge transaction.
    """
    rewritten: dict[str, int] = {}
    quote = connection.ops.quote_name
    for model in apps.get_models():
        fields = encrypted_fields(model)
        if not fields:
            continue
        table = quote(model._meta.db_table)
        pk_field = model._meta.pk
        assert pk_field is not None
        assert pk_field.column is not None
        pk_column = quote(pk_field.column)
        columns = [quote(str(field.column)) for field in fields]
        count = 0
        last_pk: object = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = "" if last_pk is None else f"WHERE {pk_column} > %s"
                params: list[object] = [] if last_pk is None else [last_pk]
                lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
                cursor.execute(
                    f"SELECT {pk_column}, {', '.join(columns)} FROM {table} {where} "  # noqa: S608 - quoted identifiers only
                    f"ORDER BY {pk_column} LIMIT %s{lock}",
                    [*params, batch_size],  # type: ignore[list-item]
                )
                rows = cursor.fetchall()
                for pk, *tokens in rows:
                    new_tokens = [None if token is None else rotate_token(token) for token in tokens]
                    assignments = ", ".join(f"{column} = %s" for column in columns)
                    cursor.execute(
                        f"UPDATE {table} SET {assignments} WHERE {pk_column} = %s",  # noqa: S608
                        [*new_tokens, pk],
                    )
                    count += 1
            if len(rows) < batch_size:
                break
            last_pk = rows[-1][0]
        rewritten[model._meta.label] = count
    rewritten["mfa.Authenticator"] = _rotate_mfa_secrets()
    return rewritten


# Keys of allauth's Authenticator.data that hold values encrypted by EncryptedMFAAdapter.
_MFA_ENCRYPTED_KEYS = ("secret", "seed")


def _rotate_mfa_secrets() -> int:
    """allauth keeps TOTP secrets and recovery seeds inside a JSON column; rotate those too."""
    count = 0
    for authenticator_id in Authenticator.objects.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            authenticator = Authenticator.objects.select_for_update().get(pk=authenticator_id)
            data = dict(authenticator.data)
            changed = False
            for key in _MFA_ENCRYPTED_KEYS:
                if isinstance(data.get(key), str):
                    data[key] = rotate_token(data[key])
                    changed = True
            if changed:
                authenticator.data = data
                authenticator.save(update_fields=["data"])
                count += 1
    return count
