"""The local demo site: each demo case's page with its picture, on 127.0.0.1 (development only).

`manage.py demo_site` serves it (scripts/run starts it beside the web server); `demo_seed` starts
one in a thread for its own checks when none is running. The pages a platform "took down" are
listed in var/demo_site_removed.json (the demo seed writes it), so they stay down across restarts.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from django.conf import settings

from takedown.demo.pictures import picture
from takedown.demo.scenes import SCENES

#: What the index page says, so `running()` can tell the demo site from another server on the port.
SIGNATURE = "Takedown demo site"


def _page(title: str, body: str) -> bytes:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>{body}</html>"
    ).encode()


def _post(scene_key: str) -> bytes:
    src = f"/media/{scene_key}.jpg"
    return _page(
        f"Demo post {scene_key}",
        f'<meta property="og:image" content="{src}"></head><body><h1>Demo post</h1>'
        f'<img src="{src}" width="640" height="480" alt="Coloured shapes (demo picture)"></body>',
    )


def _removed_file() -> Path:
    return Path(settings.VAR_DIR) / "demo_site_removed.json"


def taken_down() -> set[str]:
    """The paths the demo site answers 404 for."""
    try:
        return set(json.loads(_removed_file().read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return set()


def set_online(path: str, *, online: bool) -> None:
    """Put a page back, or take it down (as a platform does after a notice)."""
    paths = taken_down()
    paths.discard(path) if online else paths.add(path)
    file = _removed_file()
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(sorted(paths)), encoding="utf-8")


def _index() -> bytes:
    gone = taken_down()
    rows = "".join(
        f"<li>{escape(s.state)}: {escape(s.path)}{' (taken down)' if s.path in gone else ''}</li>" for s in SCENES
    )
    return _page(
        SIGNATURE, f"</head><body><h1>{SIGNATURE}</h1><p>Pages the demo cases report:</p><ul>{rows}</ul></body>"
    )


ROUTES: dict[str, tuple[int, str, bytes]] = {}


def routes() -> dict[str, tuple[int, str, bytes]]:
    """Path -> (status, content type, body); built once (the pictures take a moment to draw)."""
    if not ROUTES:
        table = {}
        for scene in SCENES:
            table[f"/media/{scene.key}.jpg"] = (200, "image/jpeg", picture(scene.picture))
            table[scene.path] = (200, "text/html; charset=utf-8", _post(scene.key))
        ROUTES.update(table)
    return ROUTES


def _gone() -> tuple[int, str, bytes]:
    return 404, "text/html; charset=utf-8", _page("Not found", "</head><body><p>This post was removed.</p></body>")


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            status, content_type, body = 200, "text/html; charset=utf-8", _index()
        elif path in taken_down():
            status, content_type, body = _gone()
        else:
            status, content_type, body = routes().get(path, _gone())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


def make_server(port: int) -> ThreadingHTTPServer:
    routes()
    return ThreadingHTTPServer(("127.0.0.1", port), _Handler)


def is_serving(port: int) -> bool:
    """True when the demo site answers on the port (and not some other server)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            return SIGNATURE in response.read(4096).decode("utf-8", "replace")
    except OSError:
        return False


class DemoSiteUnavailable(Exception):
    """The port is taken by something that is not the demo site."""


@contextmanager
def running(port: int) -> Iterator[None]:
    """The demo site on `port` for the duration: the one already serving, or one in a thread."""
    if is_serving(port):
        yield
        return
    try:
        server = make_server(port)
    except OSError as exc:
        raise DemoSiteUnavailable(
            f"The demo site cannot serve on 127.0.0.1:{port} ({exc.strerror or exc}): choose a free DEMO_SITE_PORT."
        ) from exc
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
