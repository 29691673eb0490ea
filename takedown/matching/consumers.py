"""What the matching app does when a floor below records a change (`core.outbox`).

Thin, like tasks: each handler parses the payload and calls one service. Handlers are idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from takedown.core.outbox import outbox_subscribe
from takedown.matching import services


def on_items_reported(topic: str, payload: Mapping[str, Any]) -> None:
    services.items_check_reported(case_id=int(payload["case_id"]), item_ids=[int(i) for i in payload["item_ids"]])


def subscribe() -> None:
    outbox_subscribe(consumer="matching.check_reported", topics=["case.items_reported"], handler=on_items_reported)
