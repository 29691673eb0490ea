"""The transactional outbox: how a change in a lower layer reaches a higher one without a call.

The apps are floors (docs/architecture.md): cases cannot call matching, notices cannot call the
platform API. When a change below must cause work above (links reported -> check them; a notice
sent -> tell the platform's webhooks), the lower service calls `outbox_emit(topic, payload)` in
its own transaction. One `OutboxMessage` row is written per consumer subscribed to the topic, so
the effect is recorded exactly when the change commits, or not at all. On commit the relay task
starts (beat also runs it every minute, so a lost task message only delays the work); it hands
each message to its consumer's handler and deletes the row in the same transaction as the
handler's own writes. A handler that fails is retried later with backoff; handlers must be
idempotent (a message can be handled again after a crash between the effect and the commit).

Consumers subscribe in their `AppConfig.ready()`; the kernel never imports them. Payloads hold
ids and codes only, never anything sensitive (they outlive nothing: handled rows are deleted).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from takedown.core.models import OutboxMessage
from takedown.core.queue import task_on_commit

logger = logging.getLogger(__name__)

#: Every topic a layer may emit, with what it means. Emitting an unknown topic is a bug.
TOPICS: dict[str, str] = {
    "case.items_reported": "links were added to a case: {case_id, item_ids}",
    "case.item_status_changed": "a reported link's status changed: {case_id, item_id, from, to}",
    "feed.entries_withdrawn": "feed entries became tombstones: {entry_ids}",
    "notice.sent": "a notice went to its platform: {notice_id, platform_id}",
    "notice.replied": "a platform answered a notice: {notice_id, outcome}",
    "notice.approval_requested": "an advocate asked the survivor to approve a notice: {notice_id, case_id}",
}

RELAY_TASK = "takedown.core.tasks.outbox_relay"
MAX_BACKOFF_SECONDS = 3600

Handler = Callable[[str, Mapping[str, Any]], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    topics: frozenset[str]
    handler: Handler


_CONSUMERS: dict[str, Consumer] = {}


def outbox_subscribe(*, consumer: str, topics: Iterable[str], handler: Handler) -> None:
    """Register `handler` for `topics` under the stable name `consumer` (from an AppConfig.ready)."""
    wanted = frozenset(topics)
    unknown = wanted - TOPICS.keys()
    if unknown:
        raise ValueError(f"unknown outbox topics: {sorted(unknown)}")
    _CONSUMERS[consumer] = Consumer(consumer, wanted, handler)


def outbox_emit(topic: str, payload: Mapping[str, Any]) -> int:
    """Record `topic` for every consumer of it, in the caller's transaction; returns how many rows.

    The relay starts when the transaction commits.
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown outbox topic {topic!r}")
    rows = [
        OutboxMessage(topic=topic, consumer=c.name, payload=dict(payload))
        for c in _CONSUMERS.values()
        if topic in c.topics
    ]
    if rows:
        OutboxMessage.objects.bulk_create(rows)
        task_on_commit(RELAY_TASK)
    return len(rows)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, MAX_BACKOFF_SECONDS))


def _handle_one(message_id: int) -> bool:
    """Hand one due message to its consumer; False when it was taken meanwhile or is not due."""
    failed_with: Exception | None = None
    try:
        with transaction.atomic():
            message = (
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk=message_id, available_at__lte=timezone.now())
                .first()
            )
            if message is None:
                return False
            consumer = _CONSUMERS.get(message.consumer)
            if consumer is None:  # a consumer removed from the code: nothing will ever handle it
                logger.warning("outbox: no consumer %r; dropping message %d", message.consumer, message.pk)
            else:
                consumer.handler(message.topic, message.payload)
            message.delete()
        return True
    except Exception as exc:  # noqa: BLE001 - any handler failure is retried later, never lost
        failed_with = exc
    logger.error("outbox: the handler failed on message %d; retried later", message_id, exc_info=failed_with)
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if row is not None:
            row.attempts += 1
            row.available_at = timezone.now() + _backoff(row.attempts)
            row.last_error = f"{type(failed_with).__name__}: {failed_with}"[:500]
            row.save(update_fields=["attempts", "available_at", "last_error"])
    return True


def outbox_relay(*, limit: int = 500) -> int:
    """Handle the due messages, oldest first (the relay task's body); returns how many were tried."""
    due = (
        OutboxMessage.objects.filter(available_at__lte=timezone.now())
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(_handle_one(message_id) for message_id in list(due))
