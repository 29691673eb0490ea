"""Property-based tests: the shared hypothesis profile and the count of inputs each property tried.

CI runs a quick profile (FUZZ_EXAMPLES inputs per property, derandomised so a run is repeatable and
cannot flake on a new random draw); `TAKEDOWN_FUZZ_EXAMPLES=20000 pytest tests/fuzz` is the long
mode, with random seeds. The number of inputs actually tried per property is printed at the end of
the run (and written to var/fuzz-counts.json when TAKEDOWN_FUZZ_REPORT is set) for
docs/reliability.md.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = int(os.environ.get("TAKEDOWN_FUZZ_EXAMPLES", "0")) or None
LONG = FUZZ_EXAMPLES is not None

settings.register_profile(
    "takedown-ci",
    max_examples=200,
    derandomize=True,
    deadline=None,  # the machine is shared; a slow example is not a failure
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "takedown-long",
    max_examples=FUZZ_EXAMPLES or 200,
    derandomize=False,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("takedown-long" if LONG else "takedown-ci")

#: Inputs each property ran on (incremented by `tried`), reported at the end of the session.
TRIED: Counter[str] = Counter()


def tried(name: str) -> None:
    TRIED[name] += 1


def examples(ci: int) -> int:
    """Examples for one property: `ci` in CI, TAKEDOWN_FUZZ_EXAMPLES in the long mode."""
    return FUZZ_EXAMPLES or ci


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TRIED:
        return
    terminalreporter.section("fuzz: inputs tried per property")
    for name, count in sorted(TRIED.items()):
        terminalreporter.write_line(f"{count:>9,}  {name}")
    terminalreporter.write_line(f"{sum(TRIED.values()):>9,}  total")
    report = os.environ.get("TAKEDOWN_FUZZ_REPORT")
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(dict(sorted(TRIED.items())), indent=2) + "\n", encoding="utf-8")
