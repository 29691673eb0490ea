"""Local web sites for checking tests: pages carrying edited copies of shared photos, the archetype
site of issue 20 (streamed video, JSON-LD, threads, script-built galleries, an age gate), and the
real broker for tests that start workers."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pytest_django import Settings

from takedown.matching.rendering import process_renderer_close
from tests.fetching.archetypes.media import SHARED
from tests.fetching.archetypes.site import Site as ArchetypeSite
from tests.fetching.archetypes.site import build_site

PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "photos"


def photo(n: int) -> Path:
    return PHOTOS / "kodak" / f"kodim{n:02d}.png"


def jpeg_bytes(image: Image.Image, quality: int = 80) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def recompressed(path: Path, quality: int = 60) -> bytes:
    return jpeg_bytes(Image.open(path), quality)


def center_cropped(path: Path, percent: int) -> bytes:
    im = Image.open(path)
    w, h = im.size
    dx, dy = round(w * percent / 200), round(h * percent / 200)
    return jpeg_bytes(im.crop((dx, dy, w - dx, h - dy)))


def padded(path: Path, percent: int) -> bytes:
    im = Image.open(path).convert("RGB")
    w, h = im.size
    dx, dy = round(w * percent / 100), round(h * percent / 100)
    canvas = Image.new("RGB", (w + 2 * dx, h + 2 * dy), (0, 0, 0))
    canvas.paste(im, (dx, dy))
    return jpeg_bytes(canvas)


def page_with(*images: str, title: str = "A page") -> bytes:
    og = f'<meta property="og:image" content="{images[0]}">' if images else ""
    imgs = "".join(f'<img src="{src}" width="400" height="300" alt="">' for src in images[1:])
    return f"<!doctype html><html><head><title>{title}</title>{og}</head><body>{imgs}</body></html>".encode()


@dataclass
class Site:
    """Paths -> (status, content type, body); editable while the server runs (take pages down)."""

    base: str = ""
    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    def put(self, path: str, body: bytes, content_type: str = "text/html", status: int = 200) -> str:
        self.routes[path] = (status, content_type, body)
        return self.base + path

    def take_down(self, path: str, status: int = 404) -> None:
        self.routes[path] = (status, "text/html", b"<!doctype html><title>Not found</title>")


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            status, content_type, body = state.routes.get(self.path, (404, "text/html", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture(scope="session")
def archetypes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArchetypeSite]:
    """The archetype site of tests/fetching/archetypes (streams encoded by PyAV from the shared
    videos), once per session; its host names resolve through `tests.matching.archetype_hosts`."""
    if not SHARED.exists():
        pytest.fail(f"the shared test data is missing: {SHARED}")
    built = build_site(tmp_path_factory.mktemp("matching-archetypes"))
    yield built
    built.server.close()


@pytest.fixture
def archetype_resolver(settings: Settings) -> None:
    settings.FETCH_RESOLVER = "tests.matching.archetype_hosts.resolve"
    settings.FETCH_ALLOW_LOOPBACK = True
    settings.CHECK_ON_REPORT = True


@pytest.fixture
def process_browser() -> Iterator[None]:
    """Renders in this process (the embedded default) use the process's browser: stop it after."""
    yield
    process_renderer_close()


@pytest.fixture
def real_broker(broker_url: str, settings: Settings) -> Iterator[str]:
    """Make the web process publish tasks to the real Redis broker instead of running them inline."""
    from takedown.celery import app

    def forget_connections() -> None:
        # The app caches its producer pool for the broker it first connected to (an earlier test
        # may have made it connect to the default URL); drop it so the next send uses ours.
        app.amqp._producer_pool = None
        app._pool = None

    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = broker_url
    forget_connections()
    settings.CHECK_ON_REPORT = True
    yield broker_url
    app.conf.task_always_eager, app.conf.broker_url = saved
    forget_connections()
