"""Case existence is not revealed by the sign-in page: not by its answer, its lockout, or its timing.

The timing test is the short CI version of bench/timing_oracle.py (1,000 tries per group, numbers
in docs/reliability.md). PINs are hashed here with PBKDF2 at a low work factor: the test settings'
MD5 hasher costs microseconds, so a missing dummy hash check (the classic leak) would be invisible
in the noise; at ~4 ms per hash it would stand out at once, as the control test shows.

Flake rate: both groups are drawn pair by pair in random order, so under "no difference" they are
exchangeable and the p-value of the paired Wilcoxon signed-rank test is uniform; refusing at
p < 1e-4 fails a correct build about once in 10,000 runs. The control shows the same test at half
the size does catch the difference a skipped hash makes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.test import Client
from pytest_django import DjangoAssertNumQueries, Settings
from scipy import stats

from takedown.cases.models import Case
from takedown.cases.services import PIN_FAILURES_PER_REFERENCE, case_withdraw_and_delete
from takedown.core.access import Actor

# The bench scripts are top-level modules (as mypy and `python bench/x.py` see them), not a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from timing_oracle import (
    WRONG_PIN,
    client_address,
    http_attempt,
    interleaved,
    missing_references,
    open_cases,
)

pytestmark = pytest.mark.django_db

ALPHA = 1e-4
TRIES = 200


class TestPBKDF2Hasher(PBKDF2PasswordHasher):
    """PBKDF2 at ~4 ms per hash: slow enough that skipping the hash would show, fast enough for CI."""

    __test__ = False
    iterations = 10_000


@pytest.fixture
def pbkdf2(settings: Settings) -> None:
    settings.PASSWORD_HASHERS = [f"{__name__}.TestPBKDF2Hasher", "django.contrib.auth.hashers.MD5PasswordHasher"]


def _page(response: object, reference: str) -> str:
    """The page without what legitimately differs: the echoed reference and the CSRF token."""
    text = response.content.decode()  # type: ignore[attr-defined]
    text = text.replace(reference, "REFERENCE")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)


def _sign_in(client: Client, reference: str, address: str = "10.0.0.1") -> object:
    return client.post("/case/sign-in/", {"reference": reference, "pin": WRONG_PIN}, REMOTE_ADDR=address)


def test_same_answer_for_existing_missing_and_deleted_references() -> None:
    existing, withdrawn = open_cases(2)
    case_withdraw_and_delete(actor=Actor(kind="survivor"), case=Case.objects.get(reference=withdrawn))
    missing = missing_references(1, [existing, withdrawn])[0]
    answers = {}
    for n, reference in enumerate([existing, withdrawn, missing]):
        response = _sign_in(Client(), reference, client_address(n))
        answers[reference] = (response.status_code, _page(response, reference))  # type: ignore[attr-defined]
    assert answers[existing][0] == 404
    assert answers[existing] == answers[withdrawn] == answers[missing]
    assert "do not match a case" in answers[missing][1]


def test_lockout_is_the_same_for_existing_and_missing_references() -> None:
    """Failures count per reference whether it exists or not, so a lockout reveals nothing either."""
    (existing,) = open_cases(1)
    missing = missing_references(1, [existing])[0]
    pages: dict[str, list[tuple[int, str]]] = {existing: [], missing: []}
    for reference in (existing, missing):
        for n in range(PIN_FAILURES_PER_REFERENCE + 2):  # a new address each time: only the reference counts
            response = _sign_in(Client(), reference, client_address(1000 + n))
            pages[reference].append((response.status_code, _page(response, reference)))  # type: ignore[attr-defined]
    assert pages[existing] == pages[missing]
    codes = [code for code, _ in pages[existing]]
    assert codes == [404] * PIN_FAILURES_PER_REFERENCE + [429, 429]


def test_existing_and_missing_references_cost_the_same_queries(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    (existing,) = open_cases(1)
    missing = missing_references(1, [existing])[0]
    client = Client()
    _sign_in(client, missing, "10.9.9.9")  # warm up (session, templates)
    for n, reference in enumerate((existing, missing)):
        with django_assert_num_queries(1):  # the one lookup; no audit, no other read for either
            _sign_in(client, reference, client_address(2000 + n))


def _paired_p(a: list[float], b: list[float]) -> float:
    """Wilcoxon signed-rank on the pairs: each pair ran back to back, so load swings on this shared
    machine cancel out within a pair instead of drowning the comparison."""
    return float(stats.wilcoxon(a, b, alternative="two-sided").pvalue)


@pytest.mark.usefixtures("pbkdf2")
def test_sign_in_timing_does_not_reveal_existence() -> None:
    existing = open_cases(TRIES)
    missing = missing_references(TRIES, existing)
    client = Client()
    for i in range(10):  # warm-up requests are not part of the sample
        http_attempt(client)(missing_references(1, existing)[0], 50_000 + i)
    times_existing, times_missing = interleaved(http_attempt(client), existing, missing, seed=11)
    p = _paired_p(times_existing, times_missing)
    assert p > ALPHA, f"sign-in time differs between existing and missing references (Wilcoxon p={p:.2g})"


@pytest.mark.usefixtures("pbkdf2")
def test_control_the_timing_test_detects_a_skipped_hash() -> None:
    """The same test, at half the size, between cases whose PIN check costs a PBKDF2 hash and cases
    whose stored hash is a fast one (what a missing dummy hash would look like): it must see it."""
    references = open_cases(TRIES)
    slow, fast = references[: TRIES // 2], references[TRIES // 2 :]
    Case.objects.filter(reference__in=fast).update(pin_hash=make_password("12345678", hasher="md5"))
    client = Client()
    hashed, skipped = interleaved(http_attempt(client), slow, fast, seed=12)
    p = _paired_p(hashed, skipped)
    assert p < ALPHA, f"the timing test could not see a skipped 4 ms hash (p={p:.2g})"
