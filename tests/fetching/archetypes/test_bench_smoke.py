"""bench/pipeline_media.py's short mode runs end to end (the tooling, not the figures: nothing timed
is asserted, and nothing is written)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.smoke, pytest.mark.browser]
REPO = Path(__file__).resolve().parents[3]


def test_pipeline_media_quick() -> None:
    done = subprocess.run(
        [sys.executable, "bench/pipeline_media.py", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "reproduce: .venv/bin/python bench/pipeline_media.py --quick" in done.stdout
    assert "| script-built gallery, URL to result with rendering" in done.stdout
    assert "wrote " not in done.stdout
