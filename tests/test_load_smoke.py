"""Smoke test of the load benchmark (bench/load.py --quick): the tooling runs and measures cleanly.

This is a smoke test, not a measurement: it asserts no figures about speed (there are no timed
assertions in tests), only that the benchmark brought up the production profile under gunicorn,
signed in a survivor and an advocate, drove every page with wrk and got answers with no errors.
The figures come from the full mode (docs/benchmarks/load.md). It uses a PostgreSQL database and a
Redis database of its own, so it never touches a full run beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.smoke


def test_load_benchmark_quick_mode_measures_every_page_without_errors(tmp_path: Path, redis_base_url: str) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is required (scripts/test installs the Debian package)")
    out = tmp_path / "load.json"
    broker_db = int(os.environ.get("TAKEDOWN_TEST_BROKER_DB", "14"))
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/takedown")
    env = {
        **os.environ,
        "BENCH_PG": database_url.rsplit("/", 1)[0],
        "BENCH_LOAD_DB": f"takedown_load_smoke_{os.getpid()}",
        # The broker database of this test run is this test's own (see tests/conftest.py).
        "BENCH_REDIS": f"{redis_base_url.rsplit('/', 1)[0]}/{broker_db}",
    }
    result = subprocess.run(
        [sys.executable, "bench/load.py", "--quick", "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # first run on a fresh checkout also collects the production static files
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "reproduce: .venv/bin/python bench/load.py --quick" in result.stdout
    data = json.loads(out.read_text())
    measured = {r["scenario"]: r for r in data["results"]}
    assert data["not_measured"] == []
    expected = {"start", "survivor_home", "caseload", "caseload_filters", "case_detail", "api_notices", "api_lookup"}
    assert set(measured) == expected
    for name, result_data in measured.items():
        assert [level["connections"] for level in result_data["levels"]] == [1, 4], name
        for level in result_data["levels"]:
            assert level["requests"] > 0 and level["rps"] > 0, (name, level)
            assert level["errors"] == 0, (name, level)
            # A lost session would answer with a redirect to sign in: counted here, not as success.
            assert level["unexpected"] == 0, (name, level)
            assert 0 < level["p50_ms"] <= level["p95_ms"] <= level["p99_ms"], (name, level)
    assert data["info"]["counts"]["cases"] >= 1000
