"""What the platform API does when a floor below records a change (`core.outbox`). Thin, idempotent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from takedown.core.outbox import outbox_subscribe
from takedown.platforms import services


def on_notice_sent(topic: str, payload: Mapping[str, Any]) -> None:
    services.notice_sent_announce(notice_id=int(payload["notice_id"]), platform_id=int(payload["platform_id"]))


def on_entries_withdrawn(topic: str, payload: Mapping[str, Any]) -> None:
    services.hash_feedback_forget(entry_ids=[int(i) for i in payload["entry_ids"]])


def subscribe() -> None:
    outbox_subscribe(consumer="platforms.notice_webhooks", topics=["notice.sent"], handler=on_notice_sent)
    outbox_subscribe(
        consumer="platforms.feedback_cleanup", topics=["feed.entries_withdrawn"], handler=on_entries_withdrawn
    )
