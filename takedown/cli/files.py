"""The files a command-line tool was given: files named, and files under folders named."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path


def walk(paths: Sequence[str]) -> Iterator[Path]:
    """Files named and files under folders named (recursively, sorted, hidden files skipped).

    Sorted so a bundle's items (and face templates, whose position in the bundle is how
    ``faces-compare`` names them) come out in the same order on every machine.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        else:
            yield path
