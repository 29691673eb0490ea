"""Deeply nested JSON on an authenticated API endpoint is a 400 in the API's error shape, never a
500 (issue 14, defect 7: DRF's parser let Python's RecursionError escape)."""

from __future__ import annotations

import pytest
from django.test import Client

from takedown.core.models import AuditEvent
from tests.platforms.conftest import World, world  # noqa: F401 - the world fixture

pytestmark = pytest.mark.django_db


def client_for(key: str) -> Client:
    # A server error must show up as a 500 response here, not as an exception in the test.
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", raise_request_exception=False)


@pytest.mark.parametrize("depth", [100_000, 65])
@pytest.mark.parametrize("path", ["/api/v1/lookup/", "/api/v1/webhooks/", "/api/v1/notices/{notice}/acknowledge/"])
def test_deeply_nested_json_is_a_clear_400(world: World, path: str, depth: int) -> None:  # noqa: F811
    body = '{"hashes": ' + "[" * depth + "]" * depth + "}"
    before = AuditEvent.objects.count()
    response = client_for(world.x_key).post(
        path.format(notice=world.notice.pk),
        body,
        content_type="application/json",
    )
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "parse_error" and "nested" in error["message"]
    assert AuditEvent.objects.count() <= before + 1  # at most the call's own audit line; nothing changed


def test_ordinary_nesting_still_parses(world: World) -> None:  # noqa: F811
    response = client_for(world.x_key).post("/api/v1/lookup/", {"hashes": []}, content_type="application/json")
    assert response.status_code != 500
    assert response.json().get("error", {}).get("code") != "parse_error"
