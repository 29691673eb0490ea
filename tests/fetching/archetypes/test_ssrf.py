"""The SSRF suite again, through the playlist follower and through the renderer.

A playlist and a rendered page are stranger-controlled lists of URLs, so every segment, rendition,
initialization segment, key and sub-resource URL must meet the same refusals as a reported URL,
without a connection. The page server is the only allowed port; a "secret" server on another port
of 127.0.0.1 stands for everything inside (it counts every TCP connection it receives), and the
other inward targets are addresses the resolver maps names to or literal forms of them.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from playwright.async_api import BrowserContext

from takedown.fetching import ChromiumRenderer, FetchSession, MediaCandidate, fetch_media, follow_stream
from takedown.fetching import render as render_module
from tests.fetching.conftest import local_policy
from tests.fetching.servers import LocalServer, MapResolver, RawServer, redirect, respond

TS_SEGMENT = (b"\x47" + bytes(187)) * 20


@pytest.fixture
def secret() -> Iterator[RawServer]:
    def silent(conn: socket.socket) -> None:
        conn.recv(1024)

    server = RawServer(silent)
    yield server
    server.close()


@pytest.fixture
def resolver() -> MapResolver:
    return MapResolver(
        {
            "site.test": ["127.0.0.1"],
            "internal.test": ["10.0.0.5"],
            "metadata.test": ["169.254.169.254"],
            "mixed.test": ["127.0.0.1", "10.0.0.1"],
            "mapped.test": ["::ffff:127.0.0.1"],
        }
    )


def hostile_urls(page: int, inside: int) -> dict[str, str]:
    """URL -> the reason it must be refused with. ``page`` is the only allowed port; ``inside``
    is the secret server's."""
    return {
        f"http://127.0.0.1:{inside}/s.ts": "bad_port",
        f"http://2130706433:{inside}/s.ts": "bad_port",
        f"http://0177.0.0.1:{inside}/s.ts": "bad_port",
        f"http://0x7f.1:{inside}/s.ts": "bad_port",
        f"http://127.1:{inside}/s.ts": "bad_port",
        f"http://localhost:{inside}/s.ts": "bad_port",
        f"http://[::1]:{inside}/s.ts": "bad_port",
        f"http://[::ffff:127.0.0.1]:{page}/s.ts": "forbidden_address",
        f"http://[::ffff:7f00:1]:{page}/s.ts": "forbidden_address",
        f"http://[64:ff9b::7f00:1]:{page}/s.ts": "forbidden_address",
        f"http://[2002:7f00:1::]:{page}/s.ts": "forbidden_address",
        f"http://0.0.0.0:{page}/s.ts": "forbidden_address",
        f"http://[::]:{page}/s.ts": "forbidden_address",
        f"http://169.254.169.254:{page}/latest/meta-data/": "forbidden_address",
        f"http://0251.0376.0251.0376:{page}/latest/meta-data/": "forbidden_address",
        f"http://10.0.0.1:{page}/s.ts": "forbidden_address",
        f"http://192.168.1.1:{page}/s.ts": "forbidden_address",
        f"http://100.64.0.1:{page}/s.ts": "forbidden_address",
        f"http://[fd00:ec2::254]:{page}/s.ts": "forbidden_address",
        f"http://[fe80::1]:{page}/s.ts": "forbidden_address",
        f"http://internal.test:{page}/s.ts": "forbidden_address",
        f"http://metadata.test:{page}/s.ts": "forbidden_address",
        f"http://mixed.test:{page}/s.ts": "forbidden_address",
        f"http://mapped.test:{page}/s.ts": "forbidden_address",
        f"http://intranet:{page}/s.ts": "forbidden_host",
        f"http://metadata.google.internal:{page}/s.ts": "forbidden_host",
        "file:///etc/passwd": "bad_scheme",
        "gopher://127.0.0.1:6379/_INFO": "bad_scheme",
        f"http://good.example@127.0.0.1:{page}/s.ts": "userinfo",
        f"http://site.test:{page}/to-inside.ts": "forbidden_address",
        f"http://site.test:{page}/to-metadata.ts": "forbidden_address",
    }


def serve_redirects(server: LocalServer, inside: int) -> None:
    server.routes["/to-inside.ts"] = redirect(f"http://[::ffff:127.0.0.1]:{server.port}/secret")
    server.routes["/to-metadata.ts"] = redirect(f"http://169.254.169.254:{server.port}/latest/meta-data/")


def test_segment_urls_pointing_inside_are_refused_without_connection(server, secret, resolver, connections):
    serve_redirects(server, secret.port)
    hostile = hostile_urls(server.port, secret.port)
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:2"]
    for url in ["/ok-0.ts", *hostile, "/ok-1.ts"]:
        lines += ["#EXTINF:2.0,", url]
    lines.append("#EXT-X-ENDLIST")
    server.routes["/live/index.m3u8"] = respond(200, "\n".join(lines).encode())
    server.routes["/ok-0.ts"] = respond(200, TS_SEGMENT)
    server.routes["/ok-1.ts"] = respond(200, TS_SEGMENT)
    policy = local_policy(
        resolver, allowed_ports=frozenset({server.port}), max_stream_segments=len(hostile) + 2, host_interval=0.0
    )
    candidate = MediaCandidate(f"http://site.test:{server.port}/live/index.m3u8", "test", hint="hls")
    sample = follow_stream(FetchSession(policy), candidate)

    reasons = {s.segment.url: (s.error.reason if s.error else "ok") for s in sample.segments}
    assert reasons.pop(f"http://site.test:{server.port}/ok-0.ts") == "ok"
    assert reasons.pop(f"http://site.test:{server.port}/ok-1.ts") == "ok"
    assert reasons == hostile
    assert secret.connections == 0
    assert {address[1] for address in connections} == {server.port}
    assert server.hits["/to-inside.ts"] == server.hits["/to-metadata.ts"] == 1


@pytest.mark.parametrize("where", ["rendition", "init", "key", "dash-base", "dash-template"])
def test_every_url_a_playlist_names_is_checked(server, secret, resolver, connections, where):
    inside = f"http://[::ffff:127.0.0.1]:{server.port}"  # the allowed port: refused for the address
    server.routes["/ok.ts"] = respond(200, TS_SEGMENT)
    media = ["#EXTM3U", "#EXT-X-TARGETDURATION:2"]
    if where == "init":
        media.append(f'#EXT-X-MAP:URI="{inside}/init.mp4"')
    if where == "key":
        media.append(f'#EXT-X-KEY:METHOD=AES-128,URI="{inside}/key"')
    media += ["#EXTINF:2.0,", "/ok.ts", "#EXT-X-ENDLIST"]
    server.routes["/media.m3u8"] = respond(200, "\n".join(media).encode())
    master = f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=320x240\n{inside}/media.m3u8\n"
    server.routes["/master.m3u8"] = respond(200, master.encode())
    mpd_base = f"<BaseURL>{inside}/</BaseURL>" if where == "dash-base" else ""
    media_template = f"{inside}/c-$Number$.m4s" if where == "dash-template" else "c-$Number$.m4s"
    server.routes["/manifest.mpd"] = respond(
        200,
        f"""<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"
mediaPresentationDuration="PT4S">{mpd_base}<Period><AdaptationSet contentType="video">
<Representation id="v" bandwidth="300000" width="320" height="240">
<SegmentTemplate media="{media_template}" duration="2" timescale="1" startNumber="1"/></Representation>
</AdaptationSet></Period></MPD>""".encode(),
    )
    path = {"rendition": "/master.m3u8", "dash-base": "/manifest.mpd", "dash-template": "/manifest.mpd"}.get(
        where, "/media.m3u8"
    )
    policy = local_policy(resolver, allowed_ports=frozenset({server.port}), host_interval=0.0)
    result = fetch_media(f"http://site.test:{server.port}{path}", policy)
    [outcome] = result.streams
    if where == "rendition":
        assert outcome.error is not None and outcome.error.reason == "forbidden_address"
    else:
        sample = outcome.sample
        assert sample is not None
        refused = sample.inits if where == "init" else sample.segments
        assert refused and all(s.error is not None and s.error.reason == "forbidden_address" for s in refused)
        assert sample.fetched_segments == () and result.found == ()
    assert secret.connections == 0
    assert {address[1] for address in connections} == {server.port}


@pytest.mark.browser
def test_renderer_sub_resources_pointing_inside_are_refused_without_connection(
    server, secret, resolver, connections, renderer: ChromiumRenderer
):
    serve_redirects(server, secret.port)
    hostile = hostile_urls(server.port, secret.port)
    http_hostile = [u for u in hostile if u.startswith("http")]
    tags = []
    for index, url in enumerate(http_hostile):
        kind = index % 5
        if kind == 0:
            tags.append(f'<img src="{url}">')
        elif kind == 1:
            tags.append(f'<script src="{url}"></script>')
        elif kind == 2:
            tags.append(f'<link rel="stylesheet" href="{url}">')
        elif kind == 3:
            tags.append(f'<iframe src="{url}"></iframe>')
        else:
            tags.append(f'<link rel="prefetch" href="{url}">')
    script = "\n".join(f'fetch("{url}").catch(function () {{}});' for url in http_hostile)
    inside = f"127.0.0.1:{secret.port}"
    page = f"""<!doctype html><html><head><title>probe</title>
<link rel="preconnect" href="http://{inside}"><link rel="dns-prefetch" href="http://{inside}">
</head><body>{"".join(tags)}
<video src="http://{inside}/v.mp4"></video>
<form id="f" method="post" action="http://{inside}/post"><input name="a" value="b"></form>
<script>
{script}
try {{ new WebSocket("ws://{inside}/ws"); }} catch (e) {{}}
try {{ new EventSource("http://{inside}/events"); }} catch (e) {{}}
try {{ navigator.sendBeacon("http://{inside}/beacon", "x"); }} catch (e) {{}}
try {{ var x = new XMLHttpRequest(); x.open("GET", "http://0x7f.1:{secret.port}/xhr"); x.send(); }} catch (e) {{}}
try {{ new RTCPeerConnection({{iceServers: [{{urls: "stun:{inside}"}}]}}); }} catch (e) {{}}
document.getElementById("f").submit();
</script></body></html>"""
    server.routes["/probe"] = respond(200, page.encode(), {"Content-Type": "text/html"})
    policy = local_policy(resolver, allowed_ports=frozenset({server.port}), host_interval=0.0, total_timeout=10.0)
    result = fetch_media(f"http://site.test:{server.port}/probe", policy, renderer=renderer, render="always")

    rendered = result.rendered
    assert rendered is not None
    # The browser normalises some spellings (2130706433 -> 127.0.0.1) and drops others itself
    # (file:, gopher:); every request that names something inside must have been refused or blocked.
    inward = [r for r in rendered.requests if any(marker in r.url for marker in _inward_markers(secret.port))]
    assert len(inward) >= 30, [r.url for r in rendered.requests]
    assert {r.outcome for r in inward} <= {"refused", "blocked"}, [r for r in inward if r.outcome == "fetched"]
    assert {r.reason for r in inward if r.outcome == "refused"} <= {"bad_port", "forbidden_address", "forbidden_host"}
    assert {r.reason for r in inward if r.outcome == "blocked"} <= {"websocket", "media", "method"}
    assert any(r.resource_type == "websocket" and r.outcome == "blocked" for r in rendered.requests)
    # Nothing reached inside: not the secret server, not through an escape hatch.
    assert secret.connections == 0
    assert rendered.escaped_connections == 0, rendered.escaped
    assert {address[1] for address in connections} == {server.port}
    # Every name was resolved by our resolver (the browser resolves nothing).
    assert {"internal.test", "metadata.test", "mixed.test", "mapped.test"} <= set(resolver.calls)
    # The blocked <video> became a candidate, and the fetcher refused it too.
    video = [o for o in result.outcomes if o.candidate.url.endswith("/v.mp4")]
    assert video and video[0].error is not None and video[0].error.reason == "bad_port"


def _inward_markers(inside: int) -> tuple[str, ...]:
    return (
        f":{inside}/",
        "169.254.169.254",
        "10.0.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "fd00:ec2::254",
        "fe80::1",
        "internal.test",
        "metadata.test",
        "mixed.test",
        "mapped.test",
        "intranet",
        "google.internal",
        "::ffff:",
        "64:ff9b",
        "2002:7f00",
        "0.0.0.0",
        "[::]",
        "to-inside",
        "to-metadata",
    )


def _unrouted_websocket_page(server: LocalServer, secret: RawServer) -> str:
    inside = f"127.0.0.1:{secret.port}"
    server.routes["/ws"] = respond(
        200,
        f"""<!doctype html><title>ws</title><script>
var ws = new WebSocket("ws://{inside}/ws");
ws.onerror = function () {{ document.title = "failed"; }};
ws.onopen = function () {{ document.title = "open"; }};
</script>""".encode(),
        {"Content-Type": "text/html"},
    )
    return f"http://site.test:{server.port}/ws"


@pytest.mark.browser
def test_a_connection_the_route_does_not_see_fails_closed(server, secret, resolver, renderer, monkeypatch):
    """WebSockets are the one kind of connection the request route does not see. With their own
    route removed (here, on purpose) the browser still cannot connect: it resolves no name and
    reaches no address by itself, not even the proxy's."""

    async def not_routed(self: BrowserContext, url: object, handler: object) -> None:
        return None

    monkeypatch.setattr(BrowserContext, "route_web_socket", not_routed)
    policy = local_policy(resolver, allowed_ports=frozenset({server.port}), host_interval=0.0)
    result = fetch_media(_unrouted_websocket_page(server, secret), policy, renderer=renderer, render="always")
    assert result.rendered is not None
    assert "<title>failed</title>" in result.rendered.html
    assert not any(r.resource_type == "websocket" for r in result.rendered.requests)
    assert secret.connections == 0


@pytest.mark.browser
def test_the_proxy_alone_also_fails_closed(server, secret, resolver, monkeypatch):
    """The second fence on its own: without the resolver rule, an unrouted connection goes to the
    proxy that goes nowhere (and is recorded there), never to its target."""

    async def not_routed(self: BrowserContext, url: object, handler: object) -> None:
        return None

    monkeypatch.setattr(BrowserContext, "route_web_socket", not_routed)
    args = tuple(a for a in render_module._CHROMIUM_ARGS if not a.startswith("--host-resolver-rules"))
    monkeypatch.setattr(render_module, "_CHROMIUM_ARGS", args)
    policy = local_policy(resolver, allowed_ports=frozenset({server.port}), host_interval=0.0)
    with ChromiumRenderer() as alone:
        result = fetch_media(_unrouted_websocket_page(server, secret), policy, renderer=alone, render="always")
    assert result.rendered is not None
    assert "<title>failed</title>" in result.rendered.html
    assert secret.connections == 0
    assert any(f"127.0.0.1:{secret.port}" in line for line in result.rendered.escaped), result.rendered.escaped
