"""The fetching package is a pure library: no Django, and a stable list of reasons."""

from __future__ import annotations

import pickle
import subprocess
import sys

from takedown.fetching import REASONS, HttpStatusError, RedirectHop, errors


def test_importing_fetching_does_not_import_django():
    code = "import sys, takedown.fetching; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_reason_codes_are_stable():
    assert REASONS == (
        "bad_url",
        "bad_scheme",
        "userinfo",
        "bad_port",
        "forbidden_host",
        "forbidden_address",
        "dns_failure",
        "too_many_redirects",
        "redirect_loop",
        "timeout",
        "connection_error",
        "tls_error",
        "http_status",
        "too_large",
        "bad_encoding",
        "unexpected_type",
        "bad_playlist",
        "protected_stream",
    )
    transient = {cls.reason for cls in errors.ERROR_CLASSES if cls.retryable}
    assert transient == {"timeout", "connection_error"}  # plus 5xx/408/429 and EAI_AGAIN, per instance


def test_errors_survive_pickling_with_their_fields():
    """Celery and multiprocessing pickle exceptions; the status and chain must come through."""
    error = HttpStatusError(
        "The server answered 503 Service Unavailable.",
        status=503,
        headers={"retry-after": "30"},
        url="https://example.com/x",
        redirect_chain=(RedirectHop("https://example.com/", 302, "/x"),),
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is HttpStatusError
    assert (copy.reason, copy.status, copy.headers, copy.url, copy.transient) == (
        "http_status",
        503,
        {"retry-after": "30"},
        "https://example.com/x",
        True,
    )
    assert copy.redirect_chain == error.redirect_chain
    assert str(copy) == str(error)
