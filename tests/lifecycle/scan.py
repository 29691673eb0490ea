"""Find a case's secrets anywhere they could remain: every table, decrypted, sessions, the cache.

Tables are listed from PostgreSQL's catalogue, not from the models, so a table added later (face
templates, a platform feed, a third-party app's) is scanned without anyone editing this file.
Each row is read whole as text (`row::text`: every column, JSON and bytea included); every Fernet
token found in it is decrypted with the configured keys and searched too, which reaches values
encrypted inside JSON (allauth's MFA data) as well as Encrypted*Field columns. Encrypted fields
are also read through the ORM for every model that has one, sessions are decoded with the
session engine, and the cache's keys and values (this run's prefix) are searched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import redis
from django.apps import apps
from django.conf import settings
from django.db import connection

from takedown.core.crypto import DecryptionError, decrypt_stored_text
from takedown.core.fields import encrypted_fields

FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_\-]+=*")


@dataclass(frozen=True)
class Needle:
    """One secret: what it is, and the text to look for (a pattern when digits need boundaries)."""

    kind: str
    value: str
    whole_number: bool = False  # a PIN: match only as a number of its own, not inside a longer one

    def found_in(self, text: str) -> bool:
        if self.whole_number:
            return re.search(rf"(?<!\d){re.escape(self.value)}(?!\d)", text) is not None
        return self.value.lower() in text.lower()


@dataclass(frozen=True)
class Hit:
    needle: Needle
    where: str
    excerpt: str


def table_names() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY 1, 2"
        )
        return [(str(schema), str(name)) for schema, name in cursor.fetchall()]


def _decrypted_tokens(text: str) -> Iterator[str]:
    for token in FERNET_TOKEN.findall(text):
        try:
            yield decrypt_stored_text(token)
        except DecryptionError:
            continue


def _session_texts(rows: Iterable[str]) -> Iterator[str]:
    from django.contrib.sessions.backends.db import SessionStore

    for data in rows:
        yield json.dumps(SessionStore().decode(data), default=str)


def database_texts() -> Iterator[tuple[str, str]]:
    """(where, text) for every row of every table, raw and decrypted."""
    quote = connection.ops.quote_name
    for schema, table in table_names():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT t::text FROM {quote(schema)}.{quote(table)} AS t")
            rows = [str(row) for (row,) in cursor.fetchall()]
        for row in rows:
            yield table, row
            for plain in _decrypted_tokens(row):
                yield f"{table} (decrypted)", plain
        if table == "django_session":
            with connection.cursor() as cursor:
                cursor.execute("SELECT session_data FROM django_session")
                yield from (("django_session (decoded)", text) for text in _session_texts(r for (r,) in cursor))
    for model in apps.get_models():
        fields = [field.name for field in encrypted_fields(model)]
        if fields:
            for values in model._default_manager.values_list(*fields):
                yield f"{model._meta.label} (ORM)", json.dumps(values, default=str)


def cache_texts() -> Iterator[tuple[str, str]]:
    """This run's cache entries (keys and values) in Redis."""
    cache = settings.CACHES["default"]
    location = cache.get("LOCATION")
    if not location:
        return
    client = redis.Redis.from_url(location)
    for key in client.scan_iter(f"{cache.get('KEY_PREFIX', '')}:*", count=1000):
        value = client.get(key) if client.type(key) == b"string" else b""
        yield "cache", f"{key!r} {value!r}"


def find(needles: Iterable[Needle], texts: Iterable[tuple[str, str]]) -> list[Hit]:
    needles = list(needles)
    hits = []
    for where, text in texts:
        for needle in needles:
            if needle.found_in(text):
                at = text.lower().find(needle.value.lower())
                hits.append(Hit(needle, where, text[max(0, at - 60) : at + 60 + len(needle.value)]))
    return hits
