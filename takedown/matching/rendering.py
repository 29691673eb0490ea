"""The browser of this process: one Chromium renderer per render worker process, made on first use.

Starting Chromium costs 1.5 s or more, so a worker process keeps one (`RENDER_REUSE_BROWSER`) and
every page gets a fresh context in it (no cookies or storage shared between pages). It is closed
when the worker process ends (`tasks.py` connects `process_renderer_close` to Celery's
`worker_process_shutdown`, and to interpreter exit for the embedded default, where renders run in
the web process). A process without Chromium or Playwright has no renderer: the check then records
that the page could not be rendered.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings

from takedown.fetching import ChromiumRenderer, PageRenderer, RenderLimits
from takedown.fetching.render import chromium_available

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_renderer: ChromiumRenderer | None = None


def process_renderer() -> PageRenderer | None:
    """This process's renderer, or None when rendering is off or Chromium/Playwright is missing."""
    global _renderer
    if not settings.RENDER_PAGES:
        return None
    with _lock:
        if _renderer is None:
            if not chromium_available(settings.CHROMIUM_PATH):
                logger.error("RENDER_PAGES is on but Chromium or Playwright is missing (%s)", settings.CHROMIUM_PATH)
                return None
            limits = RenderLimits(timeout=float(settings.RENDER_TIMEOUT), memory_bytes=settings.RENDER_MEMORY_MB << 20)
            _renderer = ChromiumRenderer(
                executable_path=settings.CHROMIUM_PATH, limits=limits, reuse_browser=settings.RENDER_REUSE_BROWSER
            )
        return _renderer


def process_renderer_close() -> None:
    """Stop this process's browser, if it started one (idempotent)."""
    global _renderer
    with _lock:
        renderer, _renderer = _renderer, None
    if renderer is not None:
        try:
            renderer.close()
        except Exception:  # shutting down: a browser that will not stop is killed with the process
            logger.warning("the renderer did not close cleanly", exc_info=True)
