"""Render pages a script builds, in headless Chromium, without letting the browser touch the network.

Galleries that load their pictures from JSON, players that assemble their playlist URL at run
time, infinite scroll: on those pages the static HTML holds no medium and only running the page's
scripts shows what a visitor sees. A browser is the most permissive network client there is, so
it is fenced in on every side:

* **Every request goes through our fetcher.** A route handler on the browser context
  (``context.route("**/*")``) receives each request and, instead of letting it continue, fetches
  it with the same address policy, pinning, redirect checks, byte caps and deadline as every other
  fetch (a ``SubresourceFetch`` given by the caller, normally :class:`.session.FetchSession`),
  then fulfils the request with the bytes. A refused URL (``http://169.254.169.254/``, a name
  resolving to 10.0.0.1, a redirect inward) is aborted; the browser never learns an address.
* **Anything that escapes the route fails closed, twice.** The browser is started with a host
  resolver rule that fails every name and every address (``MAP * ~NOTFOUND``): it cannot resolve a
  name, nor reach any address by itself, not even its proxy's. Behind that, it is given a proxy
  that goes nowhere: a socket of ours on 127.0.0.1 that accepts, records and closes every
  connection, with ``<-loopback>`` so not even loopback bypasses it; if the first fence ever let
  something through, it would end there, counted in ``escaped_connections``. (The tests remove
  each fence in turn and show the other holding.) WebSockets, which the request route does not
  see, get a route of their own that never connects; service workers are blocked; WebRTC is
  limited to proxied UDP (none) and removed from the page before its scripts run.
* **No state kept.** A new browser process with a temporary profile per render, a fresh context,
  no cookies from our fetcher (its answers carry none), nothing persisted.
* **Limits.** A wall-clock limit for the whole render (browser start included), a cap on requests
  and on images fetched for the page, a JavaScript heap limit, and a watchdog that kills the
  browser's processes (by pid, ours only) when their resident memory passes ``memory_bytes``.
  Media requests (``<video>`` loading a file, segment requests of a player) are not fetched for
  the browser: their URLs are kept as candidates and the stream follower samples them instead.

Playwright is an optional dependency: it is imported when a render starts, so the library (and the
service without rendering) works without it. :func:`default_renderer` returns None when Chromium
or Playwright is missing, which turns rendering off.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import importlib.util
import os
import re
import secrets
import shutil
import signal
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from takedown.fetching.errors import FetchError
from takedown.fetching.fetcher import FetchResult

if TYPE_CHECKING:
    from playwright.async_api import Request, Route, WebSocketRoute

MIB = 1024 * 1024
DEFAULT_CHROMIUM = "/usr/bin/chromium"

#: Path endings of stream segments and media files: fetched by the stream follower, not the browser.
_SEGMENT_PATH = re.compile(r"\.(?:ts|m4s|m4v|m4a|mp4|aac|webm|cmfv|cmfa|fmp4|mkv|mov|mp3)$", re.IGNORECASE)
#: Removed before any page script runs: no peer-to-peer connections, which bypass every proxy.
_INIT_SCRIPT = """
for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel"]) {
  try { Object.defineProperty(window, name, {value: undefined, configurable: false}); } catch (e) {}
}
"""
#: A page counts as settled when no request has been in flight for this long.
_QUIET = 0.3
_CHROMIUM_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--dns-prefetch-disable",
    "--disable-features=Prerender2,SpeculationRulesPrefetchFuture,NetworkPrediction,OptimizationHints,"
    "MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,InterestFeedContentSuggestions,"
    "CertificateTransparencyComponentUpdater,Translate",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    # No name is ever resolved by the browser: our fetcher resolves and checks them.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
)


class RenderError(Exception):
    """The page could not be rendered: ``reason`` is ``unavailable`` (no Chromium or Playwright),
    ``timeout``, ``memory`` (the watchdog killed the browser), or ``failed``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class SubresourceFetch(Protocol):
    """Fetch one URL for the browser under the caller's policy; raises ``FetchError`` when refused."""

    def __call__(self, url: str, *, referer: str | None) -> FetchResult: ...


@dataclass(frozen=True, kw_only=True)
class RenderLimits:
    """Limits of one render. The defaults suit a worker with 2 cores and a few GB of memory."""

    #: Wall-clock limit of the whole render, browser start included.
    timeout: float = 20.0
    #: Time allowed for the page's load event.
    navigation_timeout: float = 12.0
    #: After load, how long to wait for the network to go quiet (scripts loading their data).
    settle: float = 1.5
    #: Scrolls to the bottom (infinite scroll, lazy loading), each followed by a short wait.
    scrolls: int = 3
    #: Requests the page may make; the rest are aborted.
    max_requests: int = 200
    #: Images fetched for the page (their bytes are reused as candidates); further ones are aborted.
    max_images: int = 60
    #: Memory of the browser's processes together (proportional set size); above it the browser is killed.
    memory_bytes: int = 1024 * MIB
    #: V8 old-generation heap per renderer (``--max-old-space-size``).
    js_heap_mb: int = 512
    #: Sub-resources fetched at the same time (a browser opens about six connections per host).
    concurrency: int = 6
    viewport: tuple[int, int] = (1280, 1600)


@dataclass(frozen=True)
class RenderedRequest:
    """One request the page made and what the route handler did with it: ``fetched`` (through our
    fetcher), ``refused`` (the fetcher refused or failed: ``reason`` is its reason code) or
    ``blocked`` (not fetched by design: ``media``, ``font``, ``method``, ``websocket``, ``limit``,
    ``scheme``)."""

    url: str
    resource_type: str
    outcome: Literal["fetched", "refused", "blocked"]
    reason: str = ""
    sniffed_type: str = ""
    kind: str = ""
    size: int = 0


@dataclass(frozen=True)
class RenderedPage:
    """The DOM after the page's scripts ran, and every request they made."""

    url: str
    html: str
    requests: tuple[RenderedRequest, ...]
    #: Bodies of images and videos fetched for the browser, by URL (reused, not fetched again).
    fetched: Mapping[str, FetchResult] = field(default_factory=dict)
    #: Connections that reached the fail-closed proxy: requests that escaped the route (zero).
    escaped_connections: int = 0
    escaped: tuple[str, ...] = ()
    elapsed: float = 0.0
    peak_memory: int = 0


class PageRenderer(Protocol):
    """What :func:`takedown.fetching.fetch_media` needs from a renderer (injectable: the service can
    run it on a queue of its own, tests can pass a fake)."""

    def render(self, url: str, fetch: SubresourceFetch, *, timeout: float | None = None) -> RenderedPage: ...


def chromium_available(executable_path: str = DEFAULT_CHROMIUM) -> bool:
    """Whether Chromium and Playwright are both installed."""
    if not Path(executable_path).exists() and shutil.which(executable_path) is None:
        return False
    return importlib.util.find_spec("playwright") is not None


def default_renderer(executable_path: str | None = None, limits: RenderLimits | None = None) -> ChromiumRenderer | None:
    """A Chromium renderer when Chromium and Playwright are installed, else None (rendering off)."""
    path = executable_path or os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    if not chromium_available(path):
        return None
    return ChromiumRenderer(executable_path=path, limits=limits or RenderLimits())


class ChromiumRenderer:
    """Renders with Debian's Chromium through Playwright.

    One browser process is kept per renderer (starting one costs about 1.5 s here) and every
    render gets a fresh context (no cookies, storage or cache shared between pages); with
    ``reuse_browser=False`` every render starts and ends its own browser. Renders are serialised
    (one at a time per renderer: a worker runs one render per process). The browser is restarted
    after it crashed or the watchdog killed it. Call :meth:`close` (or use ``with``) to stop it.
    """

    def __init__(
        self,
        *,
        executable_path: str = DEFAULT_CHROMIUM,
        limits: RenderLimits | None = None,
        reuse_browser: bool = True,
    ) -> None:
        self.executable_path = executable_path
        self.limits = limits or RenderLimits()
        self.reuse_browser = reuse_browser
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._browser: _Browser | None = None

    def __enter__(self) -> ChromiumRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, url: str, fetch: SubresourceFetch, *, timeout: float | None = None) -> RenderedPage:
        """Render ``url``; every request is made by ``fetch``. Raises ``RenderError``."""
        budget = self.limits.timeout if timeout is None else min(self.limits.timeout, timeout)
        if budget <= 0:
            raise RenderError("timeout", "No time was left to render the page.")
        with self._lock:
            loop = self._ensure_loop()
            future = asyncio.run_coroutine_threadsafe(self._render(url, fetch, budget), loop)
            try:
                return future.result(timeout=budget + 10.0)
            except concurrent.futures.TimeoutError as exc:
                future.cancel()
                self._stop_browser()
                raise RenderError("timeout", f"The renderer did not stop within {budget + 10:g} s.") from exc
            except RenderError:
                raise
            except Exception as exc:
                self._stop_browser()
                raise RenderError(
                    "failed", f"The page could not be rendered: {type(exc).__name__}: {exc}"[:500]
                ) from exc

    def close(self) -> None:
        """Stop the browser and the renderer's event loop thread."""
        with self._lock:
            self._stop_browser()
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                if self._thread is not None:
                    self._thread.join(5)
                self._loop.close()
            self._loop = None
            self._thread = None

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        # Playwright's objects belong to the event loop that made them: one loop, in a thread of
        # its own, serves every render (the caller may be running a loop of its own).
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="takedown-render", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def _stop_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None and self._loop is not None and self._loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(browser.stop(), self._loop).result(timeout=10)

    async def _render(self, url: str, fetch: SubresourceFetch, budget: float) -> RenderedPage:
        started = time.monotonic()
        deadline = started + budget
        browser = self._browser
        if browser is None or not browser.alive():
            if browser is not None:
                await browser.stop()
            browser = await _Browser.start(self, deadline)
            self._browser = browser
        render = _Render(self.limits, url, fetch, started, deadline)
        try:
            return await browser.render(render)
        finally:
            if not self.reuse_browser or not browser.alive():
                self._browser = None
                await browser.stop()


class _Browser:
    """A running Chromium: the Playwright driver, the browser, its fail-closed proxy and watchdog."""

    def __init__(self, playwright: Any, browser: Any, sink: _Sink, watchdog: _Watchdog, limits: RenderLimits) -> None:
        self.playwright = playwright
        self.browser = browser
        self.sink = sink
        self.watchdog = watchdog
        self.limits = limits

    @classmethod
    async def start(cls, renderer: ChromiumRenderer, deadline: float) -> _Browser:
        api = _playwright()
        sink = _Sink()
        token = secrets.token_hex(8)
        watchdog = _Watchdog(token, renderer.limits.memory_bytes)
        playwright = None
        try:
            playwright = await api.async_playwright().start()
            browser = await playwright.chromium.launch(
                executable_path=renderer.executable_path,
                headless=True,
                args=[
                    *_CHROMIUM_ARGS,
                    f"--js-flags=--max-old-space-size={renderer.limits.js_heap_mb}",
                    # A switch Chromium ignores, by which the watchdog finds this browser's processes.
                    f"--takedown-render={token}",
                ],
                # Chromium's sandbox cannot start as root (containers); elsewhere it stays on.
                chromium_sandbox=os.geteuid() != 0,
                proxy={"server": f"http://127.0.0.1:{sink.port}", "bypass": "<-loopback>"},
                timeout=max((deadline - time.monotonic()) * 1000, 1),
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
        except api.Error as exc:
            watchdog.stop()
            sink.close()
            if playwright is not None:
                with contextlib.suppress(Exception):
                    await playwright.stop()
            raise RenderError("failed", f"Chromium could not be started: {str(exc).splitlines()[0][:300]}") from exc
        except BaseException:
            watchdog.stop()
            sink.close()
            if playwright is not None:
                with contextlib.suppress(Exception):
                    await playwright.stop()
            raise
        return cls(playwright, browser, sink, watchdog, renderer.limits)

    def alive(self) -> bool:
        return bool(self.browser.is_connected()) and self.watchdog.killed is None

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.browser.close()
        with contextlib.suppress(Exception):
            await self.playwright.stop()
        self.watchdog.stop()
        self.sink.close()

    async def render(self, render: _Render) -> RenderedPage:
        api = _playwright()
        escaped_before = len(self.sink.seen)
        self.watchdog.arm(render.deadline + 2.0)
        try:
            html, final_url = await asyncio.wait_for(render.page(self.browser), timeout=render.left() + 0.5)
        except TimeoutError as exc:
            raise RenderError("timeout", f"The page did not finish rendering within {render.budget:g} s.") from exc
        except api.Error as exc:
            if self.watchdog.killed == "memory":
                raise RenderError("memory", self._memory_message()) from exc
            raise RenderError("failed", f"The browser failed: {str(exc).splitlines()[0][:300]}") from exc
        finally:
            peak = self.watchdog.disarm()
        if self.watchdog.killed == "memory":
            raise RenderError("memory", self._memory_message())
        escaped = tuple(self.sink.seen[escaped_before:])
        return RenderedPage(
            url=final_url,
            html=html,
            requests=tuple(render.requests),
            fetched=dict(render.fetched),
            escaped_connections=len(escaped),
            escaped=escaped,
            elapsed=time.monotonic() - render.started,
            peak_memory=peak,
        )

    def _memory_message(self) -> str:
        return f"The browser used more than {self.limits.memory_bytes // MIB} MiB and was stopped."


class _Sink:
    """The proxy that goes nowhere: accepts, records and closes every connection made to it."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self.seen: list[str] = []
        self._closed = False
        threading.Thread(target=self._accept, name="takedown-render-sink", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(0.2)
                try:
                    first = conn.recv(200)
                except OSError:
                    first = b""
                self.seen.append(first.split(b"\r\n", 1)[0].decode("latin-1", errors="replace")[:200] or "(nothing)")

    def close(self) -> None:
        self._closed = True
        self._listener.close()


class _Watchdog:
    """Kills the browser's processes when their memory passes the limit or a render overruns.

    Playwright does not expose the browser's pid, so the browser is started with a unique switch
    and found in /proc; its descendants (renderers, GPU and utility processes) are found through
    their parent ids. Only those processes are ever signalled.
    """

    def __init__(self, token: str, memory_limit: int) -> None:
        self.token = token.encode()
        self.memory_limit = memory_limit
        self.kill_at: float | None = None
        self.peak = 0
        self.killed: str | None = None
        self._root: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="takedown-render-watchdog", daemon=True)
        self._thread.start()

    def arm(self, kill_at: float) -> None:
        """Watch one render: kill the browser if it is still running at ``kill_at``."""
        self.peak = 0
        self.kill_at = kill_at

    def disarm(self) -> int:
        """The render ended: stop the clock, return the peak memory seen during it."""
        self.kill_at = None
        return self.peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        # Every 0.2 s while a render runs; every 2 s between renders (the browser idles then).
        while not self._stop.wait(0.2 if self.kill_at is not None else 2.0):
            pids = self._processes()
            if not pids:
                continue
            rss = sum(_memory(pid) for pid in pids)
            self.peak = max(self.peak, rss)
            if rss > self.memory_limit:
                self.killed = "memory"
            elif self.kill_at is not None and time.monotonic() > self.kill_at:
                self.killed = "timeout"
            if self.killed:
                for pid in pids:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                return

    def _processes(self) -> list[int]:
        parents: dict[int, int] = {}
        roots: list[int] = [self._root] if self._root is not None and Path(f"/proc/{self._root}").exists() else []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                stat = (entry / "stat").read_text()
                parents[pid] = int(stat.rpartition(")")[2].split()[1])
                if not roots and self.token in (entry / "cmdline").read_bytes():
                    roots.append(pid)
                    self._root = pid
            except (OSError, ValueError, IndexError):
                continue
        found = set(roots)
        changed = True
        while changed:
            changed = False
            for pid, parent in parents.items():
                if parent in found and pid not in found:
                    found.add(pid)
                    changed = True
        return sorted(found)


def _playwright() -> Any:
    """Playwright's async API, imported on first use: an optional heavy dependency that only a
    process that renders needs (the library and the service without rendering work without it)."""
    try:
        return importlib.import_module("playwright.async_api")
    except ImportError as exc:
        raise RenderError("unavailable", "Playwright is not installed; pages cannot be rendered.") from exc


def _memory(pid: int) -> int:
    """Proportional set size of a process (shared pages split between their users), else its
    resident size: summing Chromium's processes' RSS would count its shared libraries many times."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _Render:
    """One page in a fresh context: its routes, and what they saw."""

    def __init__(
        self, limits: RenderLimits, url: str, fetch: SubresourceFetch, started: float, deadline: float
    ) -> None:
        self.limits = limits
        self.url = url
        self.fetch = fetch
        self.started = started
        self.deadline = deadline
        self.budget = deadline - started
        self.requests: list[RenderedRequest] = []
        self.fetched: dict[str, FetchResult] = {}
        self.images = 0
        self.inflight = 0
        self.last_activity = time.monotonic()
        self.semaphore = asyncio.Semaphore(limits.concurrency)

    def left(self) -> float:
        return max(self.deadline - time.monotonic(), 0.0)

    async def page(self, browser: Any) -> tuple[str, str]:
        """Open the page in a new context, let its scripts run, scroll, and read the DOM."""
        error = _playwright().Error
        width, height = self.limits.viewport
        context = await browser.new_context(
            service_workers="block",
            accept_downloads=False,
            viewport={"width": width, "height": height},
            locale="en-GB",
        )
        try:
            await context.add_init_script(_INIT_SCRIPT)
            await context.route("**/*", self._route)
            await context.route_web_socket("**/*", self._websocket)
            page = await context.new_page()
            page.set_default_timeout(max(self.left() * 1000, 1))
            try:
                await page.goto(
                    self.url,
                    wait_until="load",
                    timeout=max(min(self.limits.navigation_timeout, self.left()), 0.1) * 1000,
                )
            except error as exc:
                if "timeout" not in str(exc).lower():
                    raise
            await self._settle()
            for _ in range(self.limits.scrolls):
                if self.left() < 1.0:
                    break
                with contextlib.suppress(error):
                    grew = await page.evaluate(
                        "(() => { const h = document.documentElement.scrollHeight;"
                        " if (h <= window.innerHeight + window.scrollY + 2) return false;"
                        " window.scrollTo(0, h); return true; })()"
                    )
                    if not grew:
                        break
                await self._settle()
            parts = [await page.content()]
            for frame in page.frames[1:10]:
                with contextlib.suppress(error):
                    parts.append(await frame.content())
            return "\n".join(parts), page.url
        finally:
            with contextlib.suppress(error):
                await context.close()

    async def _settle(self) -> None:
        """Wait until no request has been in flight for a moment (scripts loading their data),
        at most ``settle`` seconds."""
        started = time.monotonic()
        limit = started + min(self.limits.settle, max(self.left() - 0.5, 0.0))
        while time.monotonic() < limit:
            # Quiet since the last request ended *and* since waiting began: a request the page has
            # just made may not have reached the route handler yet.
            if self.inflight == 0 and time.monotonic() - max(self.last_activity, started) >= _QUIET:
                return
            await asyncio.sleep(0.05)

    def _record(self, request: Request, outcome: Literal["fetched", "refused", "blocked"], reason: str = "") -> None:
        self.requests.append(RenderedRequest(request.url[:4096], request.resource_type, outcome, reason))

    async def _route(self, route: Route, request: Request) -> None:
        url = request.url
        kind = request.resource_type
        if len(self.requests) >= self.limits.max_requests:
            self._record(request, "blocked", "limit")
            await route.abort("blockedbyclient")
            return
        if request.method not in ("GET", "HEAD"):
            # Our fetcher only reads; a page script posting forms or beacons gets nothing.
            self._record(request, "blocked", "method")
            await route.abort("blockedbyclient")
            return
        if not url.lower().startswith(("http://", "https://")):
            self._record(request, "blocked", "scheme")
            await route.abort("blockedbyclient")
            return
        path = url.split("?", 1)[0].split("#", 1)[0]
        if kind == "media" or (kind in ("xhr", "fetch") and _SEGMENT_PATH.search(path)):
            # The video itself: its URL is a candidate, sampled by the stream follower, never
            # streamed into the browser.
            self._record(request, "blocked", "media")
            await route.abort("blockedbyclient")
            return
        if kind == "font":
            self._record(request, "blocked", "font")
            await route.abort("blockedbyclient")
            return
        if kind == "image":
            if self.images >= self.limits.max_images:
                self._record(request, "blocked", "limit")
                await route.abort("blockedbyclient")
                return
            self.images += 1
        referer = request.headers.get("referer")
        self.inflight += 1
        try:
            async with self.semaphore:
                result = await asyncio.to_thread(self.fetch, url, referer=referer)
        except FetchError as exc:
            self._record(request, "refused", exc.reason)
            await route.abort("addressunreachable" if exc.reason.startswith("forbidden") else "failed")
            return
        finally:
            self.inflight -= 1
            self.last_activity = time.monotonic()
        self.requests.append(
            RenderedRequest(url[:4096], kind, "fetched", "", result.sniffed_type, result.kind, result.size)
        )
        if result.kind in ("image", "video"):
            self.fetched[url] = result
        content_type = result.declared_type or result.sniffed_type
        await route.fulfill(status=result.status, headers={"content-type": content_type}, body=result.body)

    async def _websocket(self, ws: WebSocketRoute) -> None:
        # Not connected to any server: a socket the page opens talks to nobody.
        self.requests.append(RenderedRequest(ws.url[:4096], "websocket", "blocked", "websocket"))
        await ws.close(code=1008, reason="blocked")
