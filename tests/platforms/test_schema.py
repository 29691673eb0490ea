"""Schemathesis against the served OpenAPI schema, in process through the WSGI app, with a valid key.

Every operation is called with generated input (valid and invalid); the checks fail on any 5xx,
and on any answer whose status, content type or body the schema does not document. The key has
every scope on a vetted platform with a sent notice and consented hashes, so the happy paths are
reachable as well as the refusals.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.platforms.conftest import World

pytestmark = pytest.mark.django_db


# Loaded at import, through the app itself (pytest-django has set Django up by then; serving the
# schema touches no database).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())


@pytest.fixture
def quiet(settings: Any) -> Iterator[None]:
    """As Django's test client does: requests must not close the test's database connection."""
    settings.FETCH_ALLOW_LOOPBACK = False  # generated webhook URLs must not reach anything
    settings.PLATFORM_API_RATE_LIMIT_PER_MINUTE = 100_000
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


STATUSES: list[int] = []

#: Generated calls per operation: 30 in CI; TAKEDOWN_FUZZ_EXAMPLES sets the long mode (docs/reliability.md).
API_EXAMPLES = int(os.environ.get("TAKEDOWN_FUZZ_EXAMPLES", "30"))


@schema.parametrize()
@settings(max_examples=API_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_matches_its_schema(case: Any, world: World, quiet: None) -> None:
    excluded = []
    if case.operation.method.upper() == "POST" and case.operation.path == "/api/v1/webhooks/":
        # A schema-valid URL is still refused unless it resolves to a public address, and nothing
        # resolves in the test suite (it never reaches the internet): a 400 there is correct.
        excluded.append(positive_data_acceptance)
    if case.operation.path in {"/api/v1/m/lookup", "/api/v1/m/raw_lookup"}:
        # HMA's query shape: the hash's length depends on the signal type, which a query
        # parameter's schema cannot say, so a hex text of the wrong length is a correct 400.
        excluded.append(positive_data_acceptance)
    # The schema makes the Authorization header required, so generated cases carry one (with a
    # made-up value, replaced here by the valid key) unless the case tests its absence: then it
    # must stay absent (adding the key would turn a negative case into a valid one).
    has_auth = any(name.lower() == "authorization" for name in (case.headers or {}))
    headers = {"Authorization": f"Bearer {world.x_key}"} if has_auth else {}
    STATUSES.append(case.call_and_validate(headers=headers, excluded_checks=excluded).status_code)


def test_the_schema_documents_every_endpoint(client: Any) -> None:
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    assert set(paths) == {
        "/api/v1/notices/",
        "/api/v1/notices/{notice_id}/",
        "/api/v1/notices/{notice_id}/acknowledge/",
        "/api/v1/notices/{notice_id}/resolve/",
        "/api/v1/lookup/",
        "/api/v1/m/raw_lookup",
        "/api/v1/m/lookup",
        "/api/v1/feed/",
        "/api/v1/feed/export.txt",
        "/api/v1/hashes/{hash_id}/feedback/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{webhook_id}/",
        "/api/v1/webhooks/{webhook_id}/ping/",
    }


def test_the_generated_calls_reached_the_happy_paths() -> None:
    """The schema run above must not have been refused wholesale (e.g. every call without a key)."""
    if not STATUSES:
        pytest.skip("run together with test_the_api_matches_its_schema")
    assert sum(1 for status in STATUSES if status < 300) > len(STATUSES) // 10, sorted(set(STATUSES))
    assert any(status == 401 for status in STATUSES)  # and the missing-key cases were tried too
