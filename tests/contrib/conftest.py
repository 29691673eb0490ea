"""Install this checkout's python-threatexchange extension into the test virtualenv, once.

``pip install -e contrib/threatexchange`` with no dependencies (threatexchange, requests, numpy,
pillow and imagehash come from requirements-dev.txt) and no build isolation (the virtualenv's
setuptools and wheel), so it needs no network. It runs when this folder is collected, before its
test modules import the extension; the threatexchange CLI the tests start finds it the same way.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

EXTENSION = Path(__file__).resolve().parents[2] / "contrib" / "threatexchange"


def extension_installed_here() -> bool:
    """The installed takedown-threatexchange is this checkout's, editable."""
    try:
        dist = importlib.metadata.distribution("takedown-threatexchange")
    except importlib.metadata.PackageNotFoundError:
        return False
    origin = json.loads(dist.read_text("direct_url.json") or "{}")
    return bool(origin.get("url") == EXTENSION.as_uri() and origin.get("dir_info", {}).get("editable"))


def _install() -> None:
    if extension_installed_here():
        return
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "--no-deps", "--no-build-isolation", "-e", str(EXTENSION)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"pip could not install {EXTENSION} (is wheel installed?):\n{done.stderr[-3000:]}")
    importlib.invalidate_caches()
    # The editable install works through a .pth file, which Python reads at start-up only.
    site.addsitedir(sysconfig.get_paths()["purelib"])
    if not extension_installed_here():
        raise RuntimeError(f"pip did not install {EXTENSION}")


_install()
