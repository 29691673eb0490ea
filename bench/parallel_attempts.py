"""Parallel attempts against the limits (issue 14, defect 4): how many get checked.

Runs tests/web/test_parallel_attempts.py, which fires 100 requests at once from one address at a
real gunicorn (2 processes x 16 threads) on PostgreSQL and Redis, for survivor PIN sign-in, case
opening and staff sign-in, and counts what the server really did (PINs and passwords verified by
a counting hasher, cases opened). `--before REV` also runs the same tests against the code of an
older commit (exported with `git archive` into a temporary directory, with today's test harness
copied in), so the figures before the fix can be measured again.

Writes docs/benchmarks/parallel_attempts.md. Needs DATABASE_URL and REDIS_URL like the tests.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from doc_sections import replace  # noqa: E402 - the other bench scripts import it the same way

OUT = ROOT / "docs" / "benchmarks" / "parallel_attempts.md"
HARNESS = [
    "tests/web/stack.py",
    "tests/web/counting_hasher.py",
    "tests/web/settings_counting.py",
    "tests/web/wsgi_counting.py",
    "tests/web/test_parallel_attempts.py",
]
LINE = re.compile(r"parallel-attempts: (\S+) fired=(\d+) checked=(\d+) succeeded=(\d+) limit=(\d+)")
LIMITERS = {
    "survivor-pin": "survivor PIN sign-in (one reference)",
    "case-opening": "case opening (one address)",
    "staff-sign-in": "staff sign-in (one account)",
}


def run_tests(tree: Path) -> list[tuple[str, int, int, int, int]]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/web/test_parallel_attempts.py",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "-o",
            "log_level=WARNING",
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = [(m[1], int(m[2]), int(m[3]), int(m[4]), int(m[5])) for m in LINE.finditer(result.stdout)]
    if len(found) != len(LIMITERS):
        sys.exit(f"expected {len(LIMITERS)} figures from {tree}, got {found}:\n{result.stdout[-3000:]}")
    return found


def export(rev: str, into: Path) -> Path:
    tree = into / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    for path in HARNESS:
        shutil.copy(ROOT / path, tree / path)
    (tree / ".venv").symlink_to(ROOT / ".venv")
    return tree


def summarise(runs: list[list[tuple[str, int, int, int, int]]]) -> dict[str, tuple[int, list[int], list[int], int]]:
    table: dict[str, tuple[int, list[int], list[int], int]] = {}
    collected: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)
    for run in runs:
        for name, fired, checked, succeeded, limit in run:
            collected[name].append((fired, checked, succeeded, limit))
    for name, rows in collected.items():
        table[name] = (rows[0][0], [r[1] for r in rows], [r[2] for r in rows], rows[0][3])
    return table


def _spread(values: list[int]) -> str:
    ordered = sorted(values)
    return str(ordered[0]) if ordered[0] == ordered[-1] else f"{ordered[0]}-{ordered[-1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", help="also measure the code of this commit (e.g. the one before the fix)")
    args = parser.parse_args()
    command = "DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/parallel_attempts.py --runs {runs}{before}".format(
        runs=args.runs, before=f" --before {args.before}" if args.before else ""
    )
    after = summarise([run_tests(ROOT) for _ in range(args.runs)])
    before = None
    if args.before:
        with tempfile.TemporaryDirectory(prefix="parallel-attempts-") as tmp:
            tree = export(args.before, Path(tmp))
            before = summarise([run_tests(tree) for _ in range(args.runs)])
    lines = [
        f"100 requests at once from one address; {args.runs} runs each, the range over runs. "
        "Checked: PINs or passwords the server verified (cases opened, for opening). Succeeded: "
        "sign-ins or openings among the 100 (the right PIN or password is the last request, sent "
        "0.3 s after the others).",
        "",
        "| limiter | limit | fired | checked before | checked now | succeeded before | succeeded now |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, label in LIMITERS.items():
        fired, checked, succeeded, limit = after[name]
        old = before[name] if before else None
        lines.append(
            f"| {label} | {limit} | {fired} | {_spread(old[1]) if old else '-'} | {_spread(checked)} | "
            f"{_spread(old[2]) if old else '-'} | {_spread(succeeded)} |"
        )
    lines += ["", f"Reproduce: `{command}`", f"Load average at the end: {os.getloadavg()[0]:.1f}"]
    body = "\n".join(lines)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    if not OUT.exists():
        OUT.write_text("# Parallel attempts against the limits\n\n", encoding="utf-8")
    replace(OUT, "parallel-attempts", body)
    print(body)
    print(f"reproduce: {command}")


if __name__ == "__main__":
    main()
