"""`manage.py demo_seed` seeds a survivor case in every state, through the real services and the
real check pipeline against the local demo site, and a second run duplicates nothing."""

from __future__ import annotations

import io
import re
import socket

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone

from takedown.cases.models import Case, ItemStatus
from takedown.core.access import Actor
from takedown.demo.scenes import SCENES
from takedown.demo.site import taken_down
from takedown.matching.models import ItemCheck, Verdict
from takedown.notices.models import Escalation, EscalationRung, Notice, NoticeStatus
from takedown.registry.services import platforms_load
from tests.conftest import free_port
from tests.notices.conftest import registry_data

pytestmark = pytest.mark.django_db(transaction=True)  # the checks run on commit, as in use

LINE = re.compile(r"^demo case: (TD-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}) PIN (\d{8}) \(([a-z ]+)\)$")
STATES = [
    "new",
    "checked with a match",
    "notice drafted",
    "sent and awaiting answer",
    "overdue",
    "removed",
    "needing review",
]


def _seed() -> list[tuple[str, str, str]]:
    out = io.StringIO()
    call_command("demo_seed", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("demo case:")]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [(m.group(1), m.group(2), m.group(3)) for m in matches if m]


def _sign_in(reference: str, pin: str) -> int:
    return Client(REMOTE_ADDR="192.0.2.10").post("/case/sign-in/", {"reference": reference, "pin": pin}).status_code


def _platform_notice(case: Case) -> Notice:
    """The notice to the link's own platform (sending one also proposes search-engine drafts)."""
    return Notice.objects.get(case=case, platform__slug__in=["x", "reddit"], escalated_from__isnull=True)


def test_demo_seed_makes_every_state_once_and_again_without_duplicates(demo: int) -> None:
    first = _seed()
    notices = Notice.objects.count()
    checks = ItemCheck.objects.count()
    second = _seed()  # running it again works: the same cases, each with a new PIN, nothing added

    assert [state for _ref, _pin, state in first] == STATES
    assert [(ref, state) for ref, _pin, state in second] == [(ref, state) for ref, _pin, state in first]
    assert Case.objects.count() == len(STATES)
    assert (Notice.objects.count(), ItemCheck.objects.count()) == (notices, checks)

    cases = {state: Case.objects.get(reference=ref) for ref, _pin, state in first}
    items = {state: case.items.get() for state, case in cases.items()}
    # Every link is on a platform of the registry, served by the demo site.
    assert {item.host for item in items.values()} == {"takedown-demo.x.com", "takedown-demo.reddit.com"}
    assert all(f":{demo}/" in item.url for item in items.values())

    assert items["new"].status == ItemStatus.REPORTED and not items["new"].checks.exists()
    matched = items["checked with a match"]
    assert matched.status == ItemStatus.LIVE
    assert matched.checks.get().verdict == Verdict.MATCH  # a real check found the registered picture
    assert not cases["checked with a match"].notices.exists()
    assert cases["notice drafted"].notices.get().status == NoticeStatus.DRAFT

    now = timezone.now()
    sent = _platform_notice(cases["sent and awaiting answer"])
    assert sent.status == NoticeStatus.SENT and sent.due_at is not None and sent.due_at > now
    overdue = _platform_notice(cases["overdue"])
    assert overdue.status == NoticeStatus.SENT and overdue.due_at is not None and overdue.due_at < now
    assert Escalation.objects.filter(notice=overdue, rung=EscalationRung.FOLLOW_UP).exists()  # flagged by review

    removed = _platform_notice(cases["removed"])
    assert removed.status == NoticeStatus.REMOVED and removed.removal_verified_at is not None
    assert items["removed"].status == ItemStatus.REMOVED  # the re-check found the page gone
    assert items["removed"].checks.order_by("id").last().verdict == Verdict.REMOVED  # type: ignore[union-attr]
    assert next(s.path for s in SCENES if s.key == "removed") in taken_down()

    review = _platform_notice(cases["needing review"])
    assert review.status == NoticeStatus.REMOVED and review.removal_disputed_at is not None
    assert items["needing review"].status == ItemStatus.LIVE  # the platform said removed; it is still there

    for (reference, old_pin, _state), (_ref, new_pin, _s) in zip(first, second, strict=True):
        assert new_pin != old_pin
        assert _sign_in(reference, old_pin) == 404  # the PIN printed by the run before no longer works
        assert _sign_in(reference, new_pin) == 302


def test_demo_seed_makes_again_a_case_deleted_since(demo: int) -> None:
    first = _seed()
    gone = Case.objects.get(reference=first[5][0])  # the removed one: its page is put back, checked, taken down
    gone.delete()
    second = _seed()
    assert second[5][0] != first[5][0] and second[5][2] == "removed"
    assert [ref for ref, _pin, _state in second[:5]] == [ref for ref, _pin, _state in first[:5]]
    again = Case.objects.get(reference=second[5][0]).items.get()
    assert again.status == ItemStatus.REMOVED
    assert Case.objects.count() == len(STATES)


def test_demo_seed_refuses_production(tmp_path) -> None:
    with override_settings(VAR_DIR=tmp_path, PRODUCTION=True), pytest.raises(CommandError):
        call_command("demo_seed", stdout=io.StringIO())
    assert not Case.objects.exists()


def test_demo_seed_asks_for_the_registry_and_a_free_port(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    settings.DEMO_SITE_PORT = free_port()
    with pytest.raises(CommandError, match="load_platforms"):
        call_command("demo_seed", stdout=io.StringIO())
    platforms_load(actor=Actor.system(), data=registry_data())
    with socket.socket() as taken:  # something else listens on the port
        taken.bind(("127.0.0.1", settings.DEMO_SITE_PORT))
        taken.listen()
        with pytest.raises(CommandError, match="DEMO_SITE_PORT"):
            call_command("demo_seed", stdout=io.StringIO())
    assert not Case.objects.exists()
