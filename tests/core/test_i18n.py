"""Every user-facing string is translatable, and Spanish is complete."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
SPANISH = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"


def test_spanish_catalogue_is_complete_and_compiled() -> None:
    po = polib.pofile(str(SPANISH))
    untranslated = [entry.msgid for entry in po if not entry.translated() and not entry.obsolete]
    assert untranslated == []
    compiled = polib.mofile(str(SPANISH.with_suffix(".mo")))
    assert {e.msgid: e.msgstr for e in compiled} == {e.msgid: e.msgstr for e in po.translated_entries()}


@pytest.mark.django_db
def test_pages_render_in_spanish(client: Client) -> None:
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Salir de este sitio ya" in html
    assert "Tus imágenes se quedan en tu dispositivo." in html
    assert 'lang="es"' in html
