"""A small local server for the browser face-template module: its test page and the static files.

Serves ``tests/detectors/face_page_static/`` at ``/faces-test/`` and the repository's ``static/``
at ``/static/`` on 127.0.0.1, every response with the project's strict Content Security Policy
plus the one addition the face page needs (``'wasm-unsafe-eval'``, so TensorFlow.js can compile
its WebAssembly). Every request is recorded (method, path, body) so a test can prove that no
picture byte left the page. Used by tests/detectors/test_faces_browser.py and bench/faces_browser.py.
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[2]
STATIC: Final = REPO / "static"
PAGE: Final = Path(__file__).resolve().parent / "face_page_static"
VENDOR: Final = STATIC / "vendor" / "face-api"

#: takedown.settings.CONTENT_SECURITY_POLICY, plus 'wasm-unsafe-eval' for this page only.
CSP: Final = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
TYPES: Final = {
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".bin": "application/octet-stream",
}


@dataclass
class Recorded:
    method: str
    path: str
    body: bytes = b""


@dataclass
class FacePage:
    url: str
    requests: list[Recorded] = field(default_factory=list)


def _handler(requests: list[Recorded], csp: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            requests.append(Recorded(self.command, self.path, self.rfile.read(length) if length else b""))

        def do_GET(self) -> None:
            self._record()
            path = self.path.split("?", 1)[0]
            if path == "/faces-test/":
                path = "/faces-test/index.html"
            for prefix, root in (("/faces-test/", PAGE), ("/static/", STATIC)):
                if path.startswith(prefix):
                    target = (root / path[len(prefix) :]).resolve()
                    if target.is_relative_to(root) and target.is_file():
                        kind = TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
                        self._send(200, target.read_bytes(), kind or "application/octet-stream")
                        return
            self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            self._record()
            self._send(405, b"nothing is accepted here", "text/plain")

        do_PUT = do_POST

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", csp)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def serve_face_page(csp: str = CSP) -> Iterator[FacePage]:
    """Run the server on a free port for the duration of the block."""
    page = FacePage("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(page.requests, csp))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    page.url = f"http://127.0.0.1:{server.server_address[1]}/faces-test/"
    try:
        yield page
    finally:
        server.shutdown()
        server.server_close()
