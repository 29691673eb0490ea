"""Named sections of a generated benchmark document, so several benchmarks can write one file.

A section sits between ``<!-- name:start -->`` and ``<!-- name:end -->``. Each benchmark replaces
only its own sections and keeps the others, so docs/benchmarks/detectors.md can hold the face
calibration (bench/faces.py), the explicit-content thresholds (bench/explicit.py) and the browser
templates (bench/faces_browser.py) without one run erasing another's figures.
"""

from __future__ import annotations

import re
from pathlib import Path


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def section(text: str, name: str) -> str | None:
    """The body of section ``name`` in ``text`` (without markers), or None when it is absent."""
    start, end = _markers(name)
    found = re.search(re.escape(start) + r"\n(.*?)" + re.escape(end), text, flags=re.DOTALL)
    return found.group(1) if found else None


def wrap(name: str, body: str) -> str:
    """``body`` between the markers of section ``name``."""
    start, end = _markers(name)
    return f"{start}\n{body.rstrip()}\n{end}\n"


def replace(path: Path, name: str, body: str) -> None:
    """Write ``body`` as section ``name`` of the file at ``path`` (appended when absent)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = wrap(name, body)
    start, end = _markers(name)
    if section(text, name) is not None:
        text = re.sub(re.escape(start) + r"\n.*?" + re.escape(end) + r"\n?", lambda _m: block, text, flags=re.DOTALL)
    else:
        text = text.rstrip() + ("\n\n" if text.strip() else "") + block
    path.write_text(text, encoding="utf-8")
