"""A local test site with the kinds of page where reported content really lives.

Everything is served by one HTTP server on 127.0.0.1; "public" host names (tube.test,
cdn.tube.test, gallery.test, news.test, forum.test, adult.test) are mapped to it by the injected
resolver, so the fetcher's address policy, pinning and caps run exactly as in production except
for loopback being allowed. The pages:

* ``tube.test/watch/1``: a tube page whose player reads an HLS playlist from a config object in
  a script (two renditions, MPEG-TS segments) - the survivor's registered video;
* ``tube.test/watch/2``: the same with DASH (fMP4), named by JSON-LD ``VideoObject.contentUrl``;
* ``tube.test/watch/3``: an unrelated video, HLS in ``<video><source type=application/x-mpegURL>``;
* ``tube.test/embed/4``: a player that builds its playlist URL with a script (base64), so only the
  renderer finds the stream - a registered video;
* ``gallery.test/album/7``: a gallery a script builds from JSON (one registered photo, re-encoded
  smaller, among unrelated ones);
* ``news.test/article``: JSON-LD only (``NewsArticle.image`` ImageObject, an ``@graph``), no ``<img>``;
* ``forum.test/thread/9``: a thread of three pages with many images (``rel=next``, "Next" links,
  lazy images with ``<noscript>`` fallbacks), registered photos on pages 2 and 3;
* ``adult.test/video/5``: an age gate in front of the video.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

from takedown.fetching import FetchPolicy
from takedown.hashing.bundle import Bundle, build_bundle, dump_bundle, make_item
from takedown.hashing.media import hash_file
from tests.fetching.archetypes.media import VIDEOS, encode_dash, encode_hls, jpeg, photos
from tests.fetching.conftest import local_policy
from tests.fetching.servers import LocalServer, MapResolver, respond

HOSTS = ("tube.test", "cdn.tube.test", "gallery.test", "news.test", "forum.test", "adult.test")
HTML = {"Content-Type": "text/html; charset=utf-8"}

REGISTERED_VIDEOS = {
    "chair": VIDEOS / "bsd_threatexchange_tmk" / "chair-orig-22-sd-bar.mp4",
    "pattern": VIDEOS / "bsd_threatexchange_tmk" / "pattern-hd-no-bar.mp4",
    "friday": VIDEOS / "cc0_mdn" / "friday.mp4",
}
UNRELATED_VIDEO = VIDEOS / "cc0_mdn" / "flower.mp4"


@dataclass
class Site:
    server: LocalServer
    resolver: MapResolver
    bundle: Bundle
    bundle_path: Path
    #: label ("video:chair", "photo:1" ...) -> bundle item id
    items: dict[str, str]
    #: label of every registered or unrelated medium -> the URL it is served at
    media_urls: dict[str, str] = field(default_factory=dict)
    #: "<stream>/<rendition>" -> bytes of all its segments (the whole video at that size)
    rendition_bytes: dict[str, int] = field(default_factory=dict)

    def url(self, path: str, host: str) -> str:
        return self.server.url(path, host=host)

    def policy(self, **overrides: object) -> FetchPolicy:
        settings: dict[str, object] = {"total_timeout": 20.0, "page_timeout": 60.0, "host_interval": 0.0}
        settings.update(overrides)
        return local_policy(self.resolver, **settings)


def build_site(directory: Path) -> Site:
    server = LocalServer()
    port = server.port
    resolver = MapResolver({host: ["127.0.0.1"] for host in HOSTS})
    cdn = f"http://cdn.tube.test:{port}"
    media_urls: dict[str, str] = {}

    def serve_tree(prefix: str, root: Path) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                server.routes[f"{prefix}/{path.relative_to(root).as_posix()}"] = respond(200, path.read_bytes())

    # --- streams -------------------------------------------------------------------------------
    encode_hls([REGISTERED_VIDEOS["chair"]], directory / "hls1", [(160, 240), (320, 480)])
    serve_tree("/hls/1", directory / "hls1")
    encode_dash([REGISTERED_VIDEOS["pattern"]], directory / "dash2", [(180, 320), (360, 640)])
    serve_tree("/dash/2", directory / "dash2")
    encode_hls([UNRELATED_VIDEO], directory / "hls3", [(480, 270)])
    serve_tree("/hls/3", directory / "hls3")
    encode_hls([REGISTERED_VIDEOS["friday"]], directory / "hls4", [(320, 240)])
    serve_tree("/hls/4", directory / "hls4")
    media_urls.update(
        {
            "video:chair": f"{cdn}/hls/1/master.m3u8",
            "video:pattern": f"{cdn}/dash/2/manifest.mpd",
            "video:flower": "/hls/3/master.m3u8",
            "video:friday": f"{cdn}/hls/4/master.m3u8",
        }
    )

    # --- pictures ------------------------------------------------------------------------------
    chosen = photos(22, seed=20)
    registered_photos, unrelated = chosen[:4], chosen[4:]
    for index, path in enumerate(registered_photos, start=1):
        server.routes[f"/media/p{index}.jpg"] = respond(
            200, jpeg(path, width=640, quality=80), {"Content-Type": "image/jpeg"}
        )
    for index, path in enumerate(unrelated, start=1):
        server.routes[f"/media/u{index}.jpg"] = respond(
            200, jpeg(path, width=480, quality=85), {"Content-Type": "image/jpeg"}
        )
    server.routes["/thumbs/1.jpg"] = respond(200, jpeg(unrelated[-1], width=320), {"Content-Type": "image/jpeg"})
    server.routes["/thumbs/4.jpg"] = respond(200, jpeg(unrelated[-2], width=320), {"Content-Type": "image/jpeg"})

    # --- bundle: what the survivor registered ------------------------------------------------------
    items: dict[str, str] = {}
    bundle_items = []
    for label, path in [
        *((f"video:{name}", p) for name, p in REGISTERED_VIDEOS.items()),
        *((f"photo:{i}", p) for i, p in enumerate(registered_photos, start=1)),
    ]:
        media = hash_file(path)
        item = make_item("video" if label.startswith("video") else "image", media.hashes)
        items[label] = item.id
        bundle_items.append(item)
    bundle = build_bundle(bundle_items, "takedown-cli", "1")
    bundle_path = directory / "bundle.json"
    bundle_path.write_text(dump_bundle(bundle), encoding="utf-8")

    # --- pages ---------------------------------------------------------------------------------
    config = json.dumps({"video_id": 1, "hls": media_urls["video:chair"], "autoplay": False}).replace("/", "\\/")
    server.routes["/watch/1"] = respond(
        200,
        f"""<!doctype html><html><head><title>Clip 1 - TubeSite</title>
<meta property="og:type" content="video.other"><meta property="og:image" content="{cdn}/thumbs/1.jpg">
</head><body><div id="player" class="video-js vjs-default-skin"></div>
<script>var flashvars = {config};
function initPlayer(c) {{ fetch(c.hls).then(function (r) {{ return r.text(); }}); }}
initPlayer(flashvars);</script></body></html>""".encode(),
        HTML,
    )
    json_ld = {
        "@context": "https://schema.org",
        "@type": "VideoObject",
        "name": "Clip 2",
        "contentUrl": media_urls["video:pattern"],
        "thumbnailUrl": [f"{cdn}/thumbs/1.jpg"],
        "uploadDate": "2026-01-01",
        "publisher": {
            "@type": "Organization",
            "name": "TubeSite",
            "logo": {"@type": "ImageObject", "url": "/logo.png"},
        },
    }
    server.routes["/watch/2"] = respond(
        200,
        f"""<!doctype html><html><head><title>Clip 2 - TubeSite</title>
<script type="application/ld+json">{json.dumps(json_ld)}</script></head>
<body><div class="player-container" id="dash-player"></div>
<script src="/static/player.js"></script></body></html>""".encode(),
        HTML,
    )
    server.routes["/watch/3"] = respond(
        200,
        f"""<!doctype html><html><head><title>Clip 3 - TubeSite</title></head><body>
<video controls width="480"><source src="{media_urls["video:flower"]}" type="application/x-mpegURL"></video>
</body></html>""".encode(),
        HTML,
    )
    hidden = base64.b64encode(media_urls["video:friday"].encode()).decode()
    server.routes["/embed/4"] = respond(
        200,
        f"""<!doctype html><html><head><title>Player</title></head><body>
<video id="v" class="video-js" poster="/thumbs/4.jpg"></video>
<script>
  // The player assembles its source at run time: nothing in this HTML names the stream.
  var source = atob("{hidden}");
  fetch(source).then(function (r) {{ return r.text(); }}).then(function (text) {{
    document.getElementById("v").setAttribute("data-levels", String(text.split("#EXT-X-STREAM-INF").length - 1));
  }});
</script></body></html>""".encode(),
        HTML,
    )
    gallery = {"title": "Album 7", "photos": [{"src": f"/media/{name}.jpg"} for name in ("u1", "p1", "u2", "u3")]}
    server.routes["/api/album/7.json"] = respond(
        200, json.dumps(gallery).encode(), {"Content-Type": "application/json"}
    )
    server.routes["/album/7"] = respond(
        200,
        b"""<!doctype html><html><head><title>Album 7</title></head><body><div id="grid"></div>
<script>
fetch("/api/album/7.json").then(function (r) { return r.json(); }).then(function (album) {
  var grid = document.getElementById("grid");
  album.photos.forEach(function (photo) {
    var img = document.createElement("img");
    img.src = photo.src;
    grid.appendChild(img);
  });
});
</script></body></html>""",
        HTML,
    )
    article = {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "NewsArticle",
                "headline": "A story",
                "image": {"@type": "ImageObject", "contentUrl": "/media/p2.jpg", "width": 640},
                "publisher": {"@type": "Organization", "logo": {"@type": "ImageObject", "url": "/media/u9.jpg"}},
            },
            {"@type": "ImageObject", "contentUrl": "/media/u4.jpg", "caption": "another picture"},
        ],
    }
    server.routes["/article"] = respond(
        200,
        f"""<!doctype html><html><head><title>A story</title>
<script type="application/ld+json">{json.dumps(article)}</script></head>
<body><article><h1>A story</h1><p>Text of the story.</p>
<div class="hero" data-bg="x"></div></article></body></html>""".encode(),
        HTML,
    )
    forum_pages = {
        1: ["u5", "u6", "u7", "u8", "u10", "u11"],
        2: ["u12", "u13", "p4", "u14", "u15", "u16"],
        3: ["u17", "p3", "u1", "u2", "u3", "u4"],
    }
    for number, names in forum_pages.items():
        posts = []
        for name in names:
            if name == "p4":
                posts.append(
                    f'<div class="post"><img class="lazy" src="data:image/gif;base64,R0lGOD" alt="">'
                    f'<noscript><img src="/media/{name}.jpg"></noscript></div>'
                )
            elif name == "p3":
                posts.append(f'<div class="post"><img class="lazy" data-src="/media/{name}.jpg"></div>')
            else:
                posts.append(
                    f'<div class="post"><a href="/media/{name}.jpg"><img src="/media/{name}.jpg" width="200"></a></div>'
                )
        links = ""
        if number < 3:
            links = f'<link rel="next" href="/thread/9?page={number + 1}">' if number == 1 else ""
        nav = f'<a class="pagination-next" href="/thread/9?page={number + 1}">Next \u00bb</a>' if number < 3 else ""
        path = "/thread/9" if number == 1 else f"/thread/9?page={number}"
        server.routes[path] = respond(
            200,
            f"""<!doctype html><html><head><title>Thread 9 - page {number}</title>{links}</head><body>
<a href="/">Forum</a> <a href="/thread/10">Another thread</a>
{"".join(posts)}
<div class="pagination">{nav}</div></body></html>""".encode(),
            HTML,
        )
    server.routes["/video/5"] = respond(
        200,
        b"""<!doctype html><html><head><title>Adult site - video 5</title></head><body>
<div class="age-gate-overlay" role="dialog">
  <h2>Are you 18 or older?</h2>
  <p>This website contains age-restricted material. You must be 18 or over to enter.</p>
  <a href="/enter?next=/video/5">I am 18 or older - Enter</a> <a href="https://example.org/">Leave</a>
</div></body></html>""",
        HTML,
    )
    rendition_bytes = {
        f"{folder.parent.name}/{folder.name}": sum(p.stat().st_size for p in folder.iterdir() if p.suffix != ".m3u8")
        for folder in directory.glob("*/*")
        if folder.is_dir()
    }
    return Site(server, resolver, bundle, bundle_path, items, media_urls, rendition_bytes)
