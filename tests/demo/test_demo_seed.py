"""`manage.py demo_seed` also seeds survivor cases a person (or an outside check) can sign in to."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from takedown.cases.models import Case, CaseStatus

pytestmark = pytest.mark.django_db

LINE = re.compile(r"^demo case: (TD-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}) PIN (\d{8}) \(([a-z ]+)\)$")


def _seed() -> list[tuple[str, str, str]]:
    out = io.StringIO()
    call_command("demo_seed", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("demo case:")]
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [(m.group(1), m.group(2), m.group(3)) for m in matches if m]


def _sign_in(reference: str, pin: str) -> int:
    return Client(REMOTE_ADDR="192.0.2.10").post("/case/sign-in/", {"reference": reference, "pin": pin}).status_code


def test_demo_seed_prints_survivor_cases_in_different_states_that_sign_in(tmp_path) -> None:
    with override_settings(VAR_DIR=tmp_path):
        first = _seed()
        second = _seed()  # running it again works: the same cases, each with a new PIN
    assert len(first) >= 2
    assert len({state for _ref, _pin, state in first}) == len(first)  # each in a state of its own
    assert {state for _ref, _pin, state in first} >= {"open", "in progress"}
    assert [ref for ref, _pin, _state in second] == [ref for ref, _pin, _state in first]
    assert Case.objects.count() == len(first)
    for (reference, state), status in zip(
        [(ref, state) for ref, _pin, state in first], [CaseStatus.OPEN, CaseStatus.IN_PROGRESS], strict=False
    ):
        assert Case.objects.get(reference=reference).status == status, state

    for (reference, old_pin, _state), (_ref, new_pin, _s) in zip(first, second, strict=True):
        assert new_pin != old_pin
        assert _sign_in(reference, old_pin) == 404  # the PIN printed by the run before no longer works
        assert _sign_in(reference, new_pin) == 302


def test_demo_seed_refuses_production(tmp_path) -> None:
    with override_settings(VAR_DIR=tmp_path, PRODUCTION=True), pytest.raises(CommandError):
        call_command("demo_seed", stdout=io.StringIO())
    assert not Case.objects.exists()
