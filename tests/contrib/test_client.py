"""The extension's HTTP client against a small local server: what it retries, what it refuses."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from takedown_threatexchange.api import TakedownCredentials
from takedown_threatexchange.client import TakedownAPIError, TakedownClient, check_server


class _Script(BaseHTTPRequestHandler):
    """Answers each request with the next scripted (status, headers, body); records what it got."""

    script: list[tuple[int, dict[str, str], dict[str, object]]] = []
    seen: list[tuple[str, str, str]] = []

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append((self.command, self.path, self.headers.get("Authorization", "")))
        status, headers, body = self.script.pop(0)
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    _Script.script, _Script.seen = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Script)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


PAGE = {"entries": [], "cursor": 7, "has_more": False}


def test_retries_what_can_heal_and_honours_retry_after(server: str) -> None:
    _Script.script = [(503, {}, {}), (429, {"Retry-After": "3"}, {}), (200, {}, PAGE)]
    waits: list[float] = []
    client = TakedownClient(server, "tdk_live_x.y", sleep=waits.append)
    page = client.feed_page(5, 100)
    assert (page.cursor, page.has_more, page.entries) == (7, False, [])
    assert len(_Script.seen) == 3 and all(auth == "Bearer tdk_live_x.y" for _, _, auth in _Script.seen)
    assert _Script.seen[0][1] == "/api/v1/feed/?cursor=5&limit=100"
    assert 0.5 <= waits[0] <= 1.0 and waits[1] == 3.0  # jittered backoff, then the server's own wait


def test_refusals_fail_at_once_with_the_apis_code(server: str) -> None:
    error = {"error": {"code": "not_vetted", "message": "Only vetted platforms may read the feed."}}
    _Script.script = [(403, {}, error)]
    client = TakedownClient(server, "tdk_live_x.y", sleep=lambda _s: None)
    with pytest.raises(TakedownAPIError) as refused:
        client.feed_page(0)
    assert (refused.value.status, refused.value.code) == (403, "not_vetted") and len(_Script.seen) == 1


def test_gives_up_after_the_last_attempt(server: str) -> None:
    _Script.script = [(502, {}, {})] * 3
    client = TakedownClient(server, "tdk_live_x.y", max_attempts=3, sleep=lambda _s: None)
    with pytest.raises(TakedownAPIError) as failed:
        client.feedback("h_1", "blocked")
    assert failed.value.status == 502 and len(_Script.seen) == 3
    with pytest.raises(ValueError, match="verdict"):
        client.feedback("h_1", "maybe")


@pytest.mark.parametrize(
    ("server_url", "allowed"),
    [
        ("https://takedown.example.org/", True),
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("http://takedown.example.org", False),  # the key would cross the network in the clear
        ("http://10.0.0.5", False),
        ("ftp://takedown.example.org", False),
        ("takedown.example.org", False),
    ],
)
def test_the_key_is_only_sent_over_https_or_to_this_machine(server_url: str, allowed: bool) -> None:
    if allowed:
        assert not check_server(server_url).endswith("/")
    else:
        with pytest.raises(ValueError, match="https"):
            check_server(server_url)


def test_credentials_must_look_like_a_key() -> None:
    assert TakedownCredentials("tdk_live_ab12cd34.secret")._are_valid()
    for bad in ("", "tdk_live_ab12cd34", "sk_live.secret", "tdk_live_ab12cd34."):
        assert not TakedownCredentials(bad)._are_valid()
