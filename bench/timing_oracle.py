"""Does signing in reveal whether a case reference exists? Timing and answer, measured.

An abuser who learns a survivor's case reference (a photo of the paper, a shared device) must not
learn from the sign-in page whether the case exists. With a wrong PIN, an existing and a
non-existing reference must get the same answer (status, page, lockout) and take equally long.
This script signs in with a wrong PIN N times against existing references and N times against
random references that do not exist, interleaved in random order pair by pair (so load changes
on this shared machine hit both groups alike), each with a fresh reference and a fresh client
address (so lockouts never trigger), through the Django test client (the whole request: form,
service, rate-limit counters, template) and through the service alone (less noise, so more
sensitive). It reports the quantiles of both groups, the difference of medians with a bootstrap
95% interval, and the Mann-Whitney U and Kolmogorov-Smirnov tests.

    .venv/bin/python bench/timing_oracle.py                  # 1,000 tries per group
    .venv/bin/python bench/timing_oracle.py --tries 200      # quicker
    .venv/bin/python bench/timing_oracle.py --write          # also write docs/benchmarks/timing-oracle.md

It creates and drops its own test database (tests.settings: PostgreSQL and Redis from
DATABASE_URL / REDIS_URL). PINs are hashed with the test settings' fast hasher, which makes the
measurement more sensitive, not less: any difference outside the PIN check stands out more.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks" / "timing-oracle.md"
WRONG_PIN = "00000000"  # 1 in 10^8 to be a case's real PIN; the check below would notice


@dataclass(frozen=True)
class Comparison:
    """Timings (microseconds) of existing vs missing references, and the tests that compare them."""

    label: str
    existing_us: np.ndarray[Any, np.dtype[np.float64]]
    missing_us: np.ndarray[Any, np.dtype[np.float64]]
    median_diff_us: float
    ci_low_us: float
    ci_high_us: float
    mann_whitney_p: float
    ks_p: float
    wilcoxon_p: float  # paired: each pair ran back to back, so load swings cancel within a pair

    def row(self) -> str:
        q = [10, 50, 90]
        e = np.percentile(self.existing_us, q)
        m = np.percentile(self.missing_us, q)
        return (
            f"| {self.label} | {len(self.existing_us):,} | "
            + " / ".join(f"{v:,.0f}" for v in e)
            + " | "
            + " / ".join(f"{v:,.0f}" for v in m)
            + f" | {self.median_diff_us:+,.1f} [{self.ci_low_us:+,.1f}, {self.ci_high_us:+,.1f}]"
            + f" | {self.mann_whitney_p:.3f} | {self.ks_p:.3f} | {self.wilcoxon_p:.3f} |"
        )


TABLE_HEAD = (
    "| path | tries per group | existing p10 / p50 / p90 (µs) | missing p10 / p50 / p90 (µs) "
    "| median difference existing - missing (µs) [bootstrap 95%] | Mann-Whitney p | KS p | paired Wilcoxon p |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- |"
)


def compare(label: str, existing: Sequence[float], missing: Sequence[float], *, seed: int = 1) -> Comparison:
    from scipy import stats

    e = np.asarray(existing, dtype=np.float64)
    m = np.asarray(missing, dtype=np.float64)
    rng = np.random.default_rng(seed)
    diffs = [float(np.median(rng.choice(e, e.size)) - np.median(rng.choice(m, m.size))) for _ in range(2000)]
    low, high = np.percentile(diffs, [2.5, 97.5])
    return Comparison(
        label=label,
        existing_us=e,
        missing_us=m,
        median_diff_us=float(np.median(e) - np.median(m)),
        ci_low_us=float(low),
        ci_high_us=float(high),
        mann_whitney_p=float(stats.mannwhitneyu(e, m, alternative="two-sided").pvalue),
        ks_p=float(stats.ks_2samp(e, m).pvalue),
        wilcoxon_p=float(stats.wilcoxon(e, m).pvalue),
    )


def interleaved(
    attempt: Callable[[str, int], None], existing: Sequence[str], missing: Sequence[str], *, seed: int
) -> tuple[list[float], list[float]]:
    """Time `attempt(reference, n)` for each pair (existing, missing), the pair's order drawn at random."""
    rng = random.Random(seed)
    times: dict[bool, list[float]] = {True: [], False: []}
    for n, pair in enumerate(zip(existing, missing, strict=True)):
        order = [(True, pair[0]), (False, pair[1])]
        rng.shuffle(order)
        for exists, reference in order:
            started = time.perf_counter_ns()
            attempt(reference, 2 * n + int(exists))
            times[exists].append((time.perf_counter_ns() - started) / 1000)
    return times[True], times[False]


def open_cases(count: int) -> list[str]:
    """Cases with everything a real one has that a sign-in could touch (contact, signature, URLs)."""
    from takedown.cases.models import ContactPreference
    from takedown.cases.services import case_open
    from takedown.core.access import Actor

    references = []
    for i in range(count):
        opened = case_open(
            actor=Actor(kind="survivor"),
            signature_name=f"Timing Test {i}",
            contact_preference=ContactPreference.EMAIL,
            contact_email=f"timing{i}@example.org",
            urls=[f"https://example.com/timing/{i}"],
            jurisdictions=["US"],
        )
        assert opened.pin != WRONG_PIN
        references.append(opened.case.reference)
    return references


def missing_references(count: int, taken: Sequence[str]) -> list[str]:
    from takedown.cases.services import generate_reference

    out: list[str] = []
    while len(out) < count:
        reference = generate_reference()
        if reference not in taken:
            out.append(reference)
    return out


def client_address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def http_attempt(client: Any) -> Callable[[str, int], None]:
    def attempt(reference: str, n: int) -> None:
        response = client.post(
            "/case/sign-in/", {"reference": reference, "pin": WRONG_PIN}, REMOTE_ADDR=client_address(n)
        )
        assert response.status_code == 404, response.status_code

    return attempt


def service_attempt(reference: str, n: int) -> None:
    from takedown.cases.services import case_authenticate
    from takedown.core.errors import NotFound

    try:
        case_authenticate(reference=reference, pin=WRONG_PIN, client_ip=client_address(n + 1_000_000))
    except NotFound:
        return
    raise AssertionError("a wrong PIN signed in")


def measure(tries: int, *, seed: int = 7) -> list[Comparison]:
    """Open `2 * tries` cases' worth of references and time both paths (needs a database)."""
    from django.test import Client

    existing = open_cases(2 * tries)
    missing = missing_references(2 * tries, existing)
    client = Client()
    warm = 20  # the first requests pay for imports and template loading; not part of the sample
    for i in range(warm):
        http_attempt(client)(missing_references(1, existing)[0], 3_000_000 + i)
    http = interleaved(http_attempt(client), existing[:tries], missing[:tries], seed=seed)
    service = interleaved(service_attempt, existing[tries:], missing[tries:], seed=seed + 1)
    return [compare("sign-in page (test client)", *http), compare("case_authenticate (service)", *service)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=1000, help="tries per group and path")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.monotonic()
        results = measure(args.tries)
        seconds = time.monotonic() - started
    finally:
        cache.clear()  # this run's prefix only (tests.settings gives each process its own)
        connection.creation.destroy_test_db(name, verbosity=0)
    command = " ".join([".venv/bin/python bench/timing_oracle.py", *sys.argv[1:]])
    text = "\n".join(
        [
            f"{args.tries:,} wrong-PIN sign-ins per group and path, interleaved, in {seconds:.0f} s "
            f"(PostgreSQL and Redis on loopback, 2 shared cores).",
            "",
            TABLE_HEAD,
            *(c.row() for c in results),
            "",
            "A difference would show as a median difference whose interval excludes 0 and small p-values",
            "(below 0.001). The CI test (tests/cases/test_existence_oracle.py) uses the paired test at 200",
            "tries with PBKDF2 PINs, and a control showing it does catch a skipped PIN hash. Reproduce:",
            "",
            f"    {command}",
        ]
    )
    print(text)
    if args.write:
        DOC.write_text(
            "# Case existence through sign-in timing\n\nProduced by `bench/timing_oracle.py` (see its docstring).\n\n"
            + text
            + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
