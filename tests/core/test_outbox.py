"""The transactional outbox: an effect recorded below is carried out above once, after commit, never lost."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from takedown.core import outbox
from takedown.core.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder(list[tuple[str, dict[str, Any]]]):
    """What the test consumer handled; it fails while `fail` is set."""

    fail = False

    def handle(self, topic: str, payload: Mapping[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("the consumer is down")
        self.append((topic, dict(payload)))


@pytest.fixture
def consumer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    monkeypatch.setitem(outbox.TOPICS, "test.happened", "a test event")
    recorder = Recorder()
    outbox.outbox_subscribe(consumer="tests.recorder", topics=["test.happened"], handler=recorder.handle)
    yield recorder
    outbox._CONSUMERS.pop("tests.recorder", None)


def test_an_effect_happens_after_commit_and_its_row_is_gone(consumer: Recorder) -> None:
    with transaction.atomic():
        assert outbox.outbox_emit("test.happened", {"case_id": 7}) == 1
        assert consumer == []  # nothing above runs inside the writer's transaction
    assert consumer == [("test.happened", {"case_id": 7})]
    assert not OutboxMessage.objects.filter(consumer="tests.recorder").exists()


def test_a_rolled_back_change_emits_nothing(consumer: Recorder) -> None:
    def rolled_back() -> None:
        with transaction.atomic():
            outbox.outbox_emit("test.happened", {"case_id": 8})
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        rolled_back()
    assert consumer == [] and not OutboxMessage.objects.exists()


def test_a_failing_consumer_is_retried_later_and_nothing_is_lost(consumer: Recorder) -> None:
    consumer.fail = True
    with transaction.atomic():
        outbox.outbox_emit("test.happened", {"case_id": 9})
    row = OutboxMessage.objects.get(consumer="tests.recorder")
    assert row.attempts == 1 and "the consumer is down" in row.last_error and row.available_at > timezone.now()
    assert outbox.outbox_relay() == 0  # backing off: not due yet
    consumer.fail = False
    OutboxMessage.objects.filter(pk=row.pk).update(available_at=timezone.now() - timedelta(seconds=1))
    assert outbox.outbox_relay() == 1
    assert consumer == [("test.happened", {"case_id": 9})] and not OutboxMessage.objects.exists()


def test_unknown_topics_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown outbox topic"):
        outbox.outbox_emit("case.made_up", {})
    with pytest.raises(ValueError, match="unknown outbox topics"):
        outbox.outbox_subscribe(consumer="x", topics=["case.made_up"], handler=lambda topic, payload: None)


def test_the_apps_subscribe_to_what_lower_floors_emit() -> None:
    subscribed = {topic for c in outbox._CONSUMERS.values() for topic in c.topics}
    assert {"case.items_reported", "notice.sent", "feed.entries_withdrawn"} <= subscribed
