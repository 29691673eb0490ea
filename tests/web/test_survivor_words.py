"""One word for hashes on the survivor's pages: "photo fingerprints", never "hash" or a bare
"fingerprints" (issue 19). Checked on the visible text of each page, in English and Spanish."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import translation

from tests.cases.conftest import survivor_case_open
from tests.web.helpers import survivor_sign_in_session

pytestmark = pytest.mark.django_db

PAGES = ["/", "/what-we-keep/", "/start/report/", "/case/", "/case/withdraw/"]


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|noscript)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def hasher_texts(html: str) -> str:
    """The hasher's sentences, which the page's script shows (data-text-* attributes)."""
    return " ".join(re.findall(r'data-text-[a-z-]+="([^"]*)"', html))


@pytest.fixture(autouse=True)
def _restore_language() -> Iterator[None]:
    """The Spanish page activates Spanish in this thread; later tests get the language back."""
    with translation.override(translation.get_language()):
        yield


@pytest.fixture
def signed_in(client: Client) -> Client:
    opened = survivor_case_open(["https://pics.example/p/1"])
    survivor_sign_in_session(client, opened.case.pk)
    return client


def test_survivor_pages_say_photo_fingerprints_and_never_hash(signed_in: Client) -> None:
    for path in PAGES:
        html = signed_in.get(path).content.decode()
        text = visible_text(html) + " " + hasher_texts(html)
        assert not re.search(r"\bhash(es)?\b", text, re.I), (path, re.findall(r".{40}\bhash.{40}", text, re.I))
        bare = re.findall(r".{0,30}(?<!photo )\bfingerprints?\b.{0,30}", text, re.I)
        assert bare == [], (path, bare)
        assert "photo fingerprint" in text.lower(), path


def test_the_spanish_pages_say_huellas_and_never_hash(signed_in: Client) -> None:
    signed_in.cookies["django_language"] = "es"
    for path in PAGES:
        html = signed_in.get(path, headers={"accept-language": "es"}).content.decode()
        text = visible_text(html) + " " + hasher_texts(html)
        assert 'lang="es"' in html, path
        assert not re.search(r"\bhash(es)?\b", text, re.I), (path, re.findall(r".{40}\bhash.{40}", text, re.I))
        assert "huella" in text.lower(), path
