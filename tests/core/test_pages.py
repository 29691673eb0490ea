"""Public pages: plain language, quick exit, headers, and errors that are pages, not tracebacks."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory, override_settings

from takedown.core.errors import NotFound
from takedown.core.middleware import DomainErrorMiddleware

pytestmark = pytest.mark.django_db


@override_settings(QUICK_EXIT_URL="https://neutral.example/weather")
@pytest.mark.parametrize("path", ["/", "/what-we-keep/"])
def test_survivor_pages_have_quick_exit_and_strict_headers(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="https://neutral.example/weather"' in html
    assert "data-quick-exit" in html
    assert response["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_home_page_is_translated_to_spanish(client: Client) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="es")
    assert response["Content-Language"] == "es"


def test_unknown_page_is_a_plain_404_page(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_domain_error_becomes_a_page_with_its_status() -> None:
    request = RequestFactory().get("/x")
    middleware = DomainErrorMiddleware(lambda r: None)  # type: ignore[arg-type, return-value]
    response = middleware.process_exception(request, NotFound("We could not find that case."))
    assert response is not None
    assert response.status_code == 404
    assert "We could not find that case." in response.content.decode()
    assert middleware.process_exception(request, ValueError("boom")) is None


def test_wrong_method_is_refused_cleanly(client: Client) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405


def test_expired_form_token_is_a_plain_page() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/start/", {"in_danger": "no", "under_18": "no"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "This form expired" in html and "<style" not in html
