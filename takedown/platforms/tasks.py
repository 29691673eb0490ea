"""Celery tasks for the platform API: thin shells over `services` (queue `deliver`)."""

from __future__ import annotations

import json

from celery import shared_task

from takedown.platforms import services


@shared_task(name="takedown.platforms.tasks.deliver_platform_event")
def deliver_platform_event(webhook_id: int, event: str, data_json: str) -> bool:
    """One attempt: each delivery has a fresh id and timestamp (no retries yet; see docs/api.md)."""
    record = services.webhook_send(webhook_id=webhook_id, event=event, data=json.loads(data_json))
    return bool(record and record.delivered)
