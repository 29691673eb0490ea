"""Backup and restore of PostgreSQL with scripts/backup and scripts/restore.

A fresh test database is populated (a real case with checks, found media, a sent notice, plus rows
for every model with encrypted fields), backed up, and restored into a second, new database; every
table then has the same rows (compared as whole-row text, so ciphertext is byte-identical) and
every encrypted value decrypts to the same plaintext. Restoring over a non-empty database is
refused without --force, and works with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection
from pytest_django import Settings

from takedown.core.crypto import decrypt_stored_text
from takedown.core.fields import EncryptedJSONField, encrypted_fields
from tests.conftest import test_database_url
from tests.lifecycle.populate import populate_case
from tests.lifecycle.rows import encrypted_models, make_row
from tests.matching.conftest import Site, site  # noqa: F401 - fixture
from tests.notices.conftest import registry  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("registry")]

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / script), *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new, empty database next to the test database; dropped afterwards."""
    source = test_database_url()
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:6]}"
    admin_url = source.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield source.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table_contents(url: str) -> dict[str, tuple[int, str]]:
    """Per table: row count and an md5 of all rows as text, in a stable order."""
    out: dict[str, tuple[int, str]] = {}
    with psycopg.connect(url) as db:
        tables = db.execute(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        for (table,) in tables:
            row = db.execute(
                f"SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM {table} t"
            ).fetchone()
            assert row is not None
            out[table] = (int(row[0]), str(row[1]))
    return out


def decrypted_values(url: str) -> dict[tuple[str, str], Any]:
    """Every encrypted column of every model, read raw from `url` and decrypted with the settings' keys."""
    values: dict[tuple[str, str], Any] = {}
    with psycopg.connect(url) as db:
        for model in encrypted_models():
            pk = model._meta.pk
            assert pk is not None
            for field in encrypted_fields(model):
                rows = db.execute(f'SELECT "{pk.column}", "{field.column}" FROM "{model._meta.db_table}"').fetchall()
                for key, token in rows:
                    plain = None if token is None else decrypt_stored_text(token)
                    if plain is not None and isinstance(field, EncryptedJSONField):
                        plain = json.loads(plain)
                    values[(f"{model._meta.label}.{field.name}", str(key))] = plain
    return values


def test_backup_then_restore_into_a_new_database(
    site: Site,  # noqa: F811
    settings: Settings,
    empty_database: str,
    tmp_path: Path,
) -> None:
    settings.CHECK_ON_REPORT = True
    settings.FETCH_ALLOW_LOOPBACK = True
    populate_case(site)
    for model in encrypted_models():
        for _ in range(5):
            make_row(model)
    source = test_database_url()
    backup = tmp_path / "takedown.dump"

    made = _run("backup", str(backup), database_url=source)
    assert made.returncode == 0, made.stderr
    assert backup.stat().st_size > 0 and oct(backup.stat().st_mode & 0o777) == "0o600"
    assert not Path(f"{backup}.partial").exists()

    restored = _run("restore", str(backup), database_url=empty_database)
    assert restored.returncode == 0, restored.stderr

    original, copy = table_contents(source), table_contents(empty_database)
    assert len(original) > 20 and copy == original
    assert sum(count for count, _ in original.values()) > 200
    values = decrypted_values(source)
    assert len(values) >= 5 * len(encrypted_models()) and decrypted_values(empty_database) == values

    again = _run("restore", str(backup), database_url=empty_database)
    assert again.returncode != 0
    assert "not empty" in again.stderr and "--force" in again.stderr
    forced = _run("restore", str(backup), "--force", database_url=empty_database)
    assert forced.returncode == 0, forced.stderr
    assert table_contents(empty_database) == original


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path, empty_database: str) -> None:
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"not a dump")
    result = _run("restore", str(junk), database_url=empty_database)
    assert result.returncode != 0 and "is not a backup" in result.stderr
    missing = _run("restore", database_url=empty_database)
    assert missing.returncode != 0 and "usage" in missing.stderr
