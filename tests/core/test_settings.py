"""The production profile refuses unsafe settings and passes Django's deploy checks."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

SAFE_PRODUCTION = {
    "TAKEDOWN_ENV": "production",
    "SECRET_KEY": "x" * 20 + "-production-secret-key-with-enough-entropy-0123456789",
    "ALLOWED_HOSTS": "takedown.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/takedown",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
}


def run_manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never has it.
    drop = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", *SAFE_PRODUCTION}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_profile_passes_deploy_check() -> None:
    result = run_manage(SAFE_PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEYS"]
)
def test_production_refuses_to_start_without_required_setting(missing: str) -> None:
    env = {k: v for k, v in SAFE_PRODUCTION.items() if k != missing}
    result = run_manage(env, "check")
    assert result.returncode != 0
    assert f"{missing} must be set when TAKEDOWN_ENV=production" in result.stderr


def test_production_refuses_debug() -> None:
    result = run_manage({**SAFE_PRODUCTION, "DEBUG": "true"}, "check")
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr


def test_malformed_values_are_named_clearly() -> None:
    result = run_manage({"CELERY_TASK_TIME_LIMIT": "soon"}, "check")
    assert result.returncode != 0
    assert "CELERY_TASK_TIME_LIMIT must be an integer" in result.stderr
    bad_key = run_manage({**SAFE_PRODUCTION, "FIELD_ENCRYPTION_KEYS": "not-a-key"}, "check")
    assert bad_key.returncode != 0
    assert "Fernet key" in bad_key.stderr


def test_development_default_needs_nothing(tmp_path: Path) -> None:
    result = run_manage({"TAKEDOWN_VAR_DIR": str(tmp_path), "DATABASE_URL": ""}, "check")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()
    assert (tmp_path / "field_encryption_key").exists()


def test_production_collectstatic_rewrites_module_imports(tmp_path: Path) -> None:
    """Hashed static names must not break the browser hasher's ES module imports."""
    result = run_manage({**SAFE_PRODUCTION, "STATIC_ROOT": str(tmp_path)}, "collectstatic", "--noinput")
    assert result.returncode == 0, result.stderr
    page_modules = list((tmp_path / "js").glob("hasher-page.*.js"))
    assert page_modules
    text = page_modules[0].read_text()
    assert re.search(r'from "\.\./hashing/hasher\.[0-9a-f]{12}\.js"', text)
    assert (tmp_path / "hashing" / "worker.js").exists()  # started by URL, kept under its plain name


def _server_env(env_overrides: dict[str, str], tmp_path: Path) -> dict[str, str]:
    drop = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG", *SAFE_PRODUCTION}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"TAKEDOWN_VAR_DIR": str(tmp_path), "DATABASE_URL": "", **env_overrides})
    return env


@pytest.mark.parametrize(("profile", "debug_pages"), [(None, False), ("development", True)])
def test_a_server_started_without_a_profile_shows_no_debug_pages(
    tmp_path: Path, profile: str | None, debug_pages: bool
) -> None:
    """Issue 14, defect 7: with no TAKEDOWN_ENV, a real server answered with Django's debug pages
    (every URL pattern listed on a 404). Debug pages need the development profile chosen explicitly."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = _server_env({"TAKEDOWN_ENV": profile} if profile else {}, tmp_path)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        body, status = "", 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read().decode()
                break
            except OSError:
                time.sleep(0.3)
        assert status == 404 and body, "the server did not answer"
        debug_page = "Django tried these URL patterns" in body or "URLconf" in body
        assert debug_page is debug_pages
        if not debug_pages:
            assert "Takedown" in body  # the site's own 404 page
    finally:
        server.terminate()
        server.wait(timeout=10)
