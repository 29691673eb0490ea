"""The layer contract: the real tree keeps it, and an import that climbs a floor breaks it.

`lint-imports` (import-linter, configured in pyproject.toml) runs in CI; this test shows the
contract is not one that cannot fail: the same contract, on a copy of the tree with one upward
import added (cases -> matching, the circle the apps once had), is reported broken.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache", str(root / "pyproject.toml")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_tree_keeps_every_layer_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("takedown/cases/feed.py", "from takedown.matching import services as _upward  # noqa\n"),
        ("takedown/hashing/bits.py", "import takedown.detectors.base as _upward  # noqa\n"),
        ("takedown/fetching/domains.py", "import django.conf as _framework  # noqa\n"),
    ],
)
def test_an_upward_import_breaks_the_contract(tmp_path: Path, module: str, line: str) -> None:
    copy = tmp_path / "tree"
    copy.mkdir()
    shutil.copytree(ROOT / "takedown", copy / "takedown", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    target = copy / module
    target.write_text(target.read_text() + "\n" + line)
    result = _lint(copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and module.removesuffix(".py").replace("/", ".") in result.stdout
