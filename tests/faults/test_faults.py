"""Fault injection on real services: nothing submitted is lost, every notice arrives once.

Each test runs one scenario of `tests.faults.harness` on its own Redis and PostgreSQL (never the
shared ones, which it restarts), with real Celery workers killed with SIGKILL, and asserts the
figure: every report checked to a verdict, every notice sent (or visibly failed where the
receiver refused it for good), and how many copies the receivers got. `bench/faults.py` runs the
same scenarios with more reports and writes the table in docs/reliability.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django import DjangoDbBlocker

from tests.faults import harness
from tests.faults.harness import Figure, Stack

pytestmark = [pytest.mark.fault, pytest.mark.worker]


@pytest.fixture(scope="module")
def stack(django_db_blocker: DjangoDbBlocker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One throwaway Redis and PostgreSQL for the module; this process's Django and Celery use them."""
    with django_db_blocker.unblock(), harness.running_stack(tmp_path_factory.mktemp("faults")) as running:
        yield running


def assert_nothing_lost(figure: Figure) -> None:
    assert figure.lost == 0, figure
    assert figure.reports_completed == figure.reports_submitted, figure
    assert figure.reports_matched == figure.reports_submitted, figure  # each page carries the registered photo


def test_a_worker_killed_mid_fetch_loses_no_report(stack: Stack) -> None:
    figure = harness.kill_during_fetch(stack, reports=4, kills=2)
    assert_nothing_lost(figure)
    assert figure.reports_submitted == 4


def test_a_worker_killed_mid_match_loses_no_report(stack: Stack) -> None:
    figure = harness.kill_during_match(stack, reports=3, kills=1)
    assert_nothing_lost(figure)


def test_a_worker_killed_before_the_mail_is_sent_delivers_it_once(stack: Stack) -> None:
    figure = harness.kill_during_delivery(stack, notices=2, kills=1, webhook=False, when="before")
    assert_nothing_lost(figure)
    assert figure.notices_delivered == 2
    assert figure.copies_received == figure.distinct_received == 2


def test_a_worker_killed_after_the_server_took_the_mail_sends_a_copy_with_the_same_message_id(
    stack: Stack,
) -> None:
    """The known window of email: the server has the message, the worker never heard it say so.

    The retry sends it again with the same Message-ID (the notice's idempotency key), so a mail
    system that deduplicates by Message-ID keeps one; one that does not shows the platform two.
    """
    figure = harness.kill_during_delivery(stack, notices=2, kills=1, webhook=False, when="after")
    assert_nothing_lost(figure)
    assert figure.notices_delivered == 2
    assert figure.distinct_received == 2
    assert figure.duplicate_copies == 1


def test_a_worker_killed_waiting_for_the_webhook_answer_delivers_once_by_idempotency_key(stack: Stack) -> None:
    figure = harness.kill_during_delivery(stack, notices=2, kills=1, webhook=True, when="after")
    assert_nothing_lost(figure)
    assert figure.notices_delivered == 2
    assert figure.distinct_received == 2  # the receiver acted on each notice once
    assert figure.duplicate_copies == 1  # the retry of the killed attempt, answered from its key


def test_a_redis_restart_loses_nothing_submitted_before_during_or_after_it(stack: Stack) -> None:
    figure = harness.redis_restart(stack, reports=6)
    assert_nothing_lost(figure)
    assert figure.notices_delivered == figure.notices_sent == 4
    assert figure.duplicate_copies == 0


def test_a_postgresql_restart_loses_nothing(stack: Stack) -> None:
    figure = harness.postgres_restart(stack, reports=4)
    assert_nothing_lost(figure)
    assert figure.notices_delivered == figure.notices_sent == 2


def test_an_smtp_server_failing_then_recovering_gets_each_notice_once(stack: Stack) -> None:
    from takedown.notices.models import DeliveryAttempt, DeliveryOutcome

    figure = harness.smtp_failures(stack, notices=3)
    assert figure.lost == 0, figure
    assert figure.notices_failed_visibly == 1  # the 550: the advocate sees it failed, with the reason
    assert figure.notices_delivered == 2
    assert figure.copies_received == figure.distinct_received == 2
    assert DeliveryAttempt.objects.filter(outcome=DeliveryOutcome.TRANSIENT_FAILURE).count() >= 2
    assert (
        DeliveryAttempt.objects.filter(outcome=DeliveryOutcome.PERMANENT_FAILURE, detail__contains="550").count() == 1
    )


def test_a_webhook_receiver_failing_then_recovering_gets_each_notice_once(stack: Stack) -> None:
    from takedown.notices.models import DeliveryAttempt, DeliveryOutcome

    figure = harness.webhook_failures(stack, notices=3)
    assert figure.lost == 0, figure
    assert figure.notices_delivered == 3
    assert figure.distinct_received == figure.copies_received == 3
    assert DeliveryAttempt.objects.filter(outcome=DeliveryOutcome.TRANSIENT_FAILURE).count() == 5
