"""/healthz reports the real database and broker and answers 503 when either is down."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client, override_settings

from tests.conftest import free_port

pytestmark = pytest.mark.django_db


def test_healthy_with_in_process_tasks(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": True, "mode": "in-process"}


def test_healthy_with_real_redis_broker(client: Client, broker_url: str) -> None:
    with override_settings(CELERY_BROKER_URL=broker_url):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"]["ok"] is True


def test_unreachable_broker_gives_503(client: Client) -> None:
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db(transaction=True)
def test_unreachable_database_gives_503(client: Client) -> None:
    original_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = original_port
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False


def test_beat_heartbeat_is_reported(client: Client) -> None:
    from takedown.core.tasks import beat_heartbeat

    assert client.get("/healthz").json()["beat_last_seen"] is None
    beat_heartbeat.delay()  # eager: runs in process
    assert client.get("/healthz").json()["beat_last_seen"] is not None


def test_tasks_started_on_commit_wait_for_the_transaction(client: Client, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """`delay_on_commit` (Celery's Django task class) runs nothing until the transaction commits."""
    from takedown.core.tasks import beat_heartbeat

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        beat_heartbeat.delay_on_commit()
        assert client.get("/healthz").json()["beat_last_seen"] is None
    assert len(callbacks) == 1
    callbacks[0]()
    assert client.get("/healthz").json()["beat_last_seen"] is not None
