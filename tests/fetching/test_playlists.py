"""Reading HLS playlists and DASH manifests, choosing a rendition, spreading the sample."""

from __future__ import annotations

import itertools
import struct

import pytest

from takedown.fetching.playlists import (
    MAX_SEGMENTS,
    Manifest,
    MediaPlaylist,
    PlaylistError,
    Rendition,
    choose_rendition,
    parse_dash,
    parse_hls,
    parse_iso_duration,
    parse_sidx,
    sample_segments,
)

BASE = "https://cdn.example/v/1/master.m3u8"

MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-STREAM-INF:BANDWIDTH=200000,RESOLUTION=256x144,CODECS="avc1.42c00c,mp4a.40.2"
144/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1800000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
https://other.example/720/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=700000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"
360/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.2"
audio/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="iframes.m3u8"
"""


def test_master_playlist_renditions_are_absolute():
    manifest = parse_hls(MASTER, BASE)
    assert isinstance(manifest, Manifest)
    assert [(r.uri, r.width, r.height, r.bandwidth) for r in manifest.renditions] == [
        ("https://cdn.example/v/1/144/index.m3u8", 256, 144, 200000),
        ("https://other.example/720/index.m3u8", 1280, 720, 1800000),
        ("https://cdn.example/v/1/360/index.m3u8", 640, 360, 700000),
        ("https://cdn.example/v/1/audio/index.m3u8", None, None, 64000),
    ]


def test_the_cheapest_useful_rendition_is_chosen():
    renditions = parse_hls(MASTER, BASE).renditions  # type: ignore[union-attr]
    assert choose_rendition(renditions, min_short_side=240).height == 360
    assert choose_rendition(renditions, min_short_side=144).height == 144
    # Nothing large enough: the largest there is.
    assert choose_rendition(renditions, min_short_side=1080).height == 720
    # Portrait video: the short side is the width.
    portrait = [Rendition("a", 300000, 180, 320), Rendition("b", 900000, 360, 640)]
    assert choose_rendition(portrait, min_short_side=240).uri == "b"
    # Sizes unknown: the lowest bandwidth from about 240p up.
    unsized = [Rendition("low", 120000), Rendition("mid", 400000), Rendition("high", 3000000)]
    assert choose_rendition(unsized, min_short_side=240).uri == "mid"
    with pytest.raises(PlaylistError):
        choose_rendition([Rendition("a", 64000, codecs="mp4a.40.2")], min_short_side=240)
    # A DRM-protected rendition is only chosen when there is nothing else.
    protected = [Rendition("drm", 500000, 640, 360, drm="cenc"), Rendition("clear", 900000, 1280, 720)]
    assert choose_rendition(protected, min_short_side=240).uri == "clear"


MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-MAP:URI="init.mp4"
#EXTINF:6.006,
seg0.m4s
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k1",IV=0x0000000000000000000000000000002A
#EXTINF:6.006,title
seg1.m4s
#EXT-X-KEY:METHOD=NONE
#EXT-X-DISCONTINUITY
#EXTINF:3.5,
/abs/seg2.m4s?token=x
#EXT-X-ENDLIST
"""


def test_media_playlist_segments_times_maps_and_keys():
    playlist = parse_hls(MEDIA, "https://cdn.example/v/1/360/index.m3u8")
    assert isinstance(playlist, MediaPlaylist)
    assert not playlist.live
    urls = [s.url for s in playlist.segments]
    assert urls == [
        "https://cdn.example/v/1/360/seg0.m4s",
        "https://cdn.example/v/1/360/seg1.m4s",
        "https://cdn.example/abs/seg2.m4s?token=x",
    ]
    assert [round(s.start, 3) for s in playlist.segments] == [0.0, 6.006, 12.012]
    assert playlist.duration == pytest.approx(15.512)
    assert all(s.init is not None and s.init.url == "https://cdn.example/v/1/360/init.mp4" for s in playlist.segments)
    assert playlist.segments[0].key is None
    key = playlist.segments[1].key
    assert key is not None and key.decryptable and key.uri == "https://keys.example/k1"
    assert key.iv == (42).to_bytes(16, "big")
    assert playlist.segments[2].key is None
    assert [s.sequence for s in playlist.segments] == [100, 101, 102]


def test_byte_ranges_continue_from_the_previous_range():
    text = """#EXTM3U
#EXT-X-MAP:URI="all.mp4",BYTERANGE="800@0"
#EXTINF:4,
#EXT-X-BYTERANGE:1000@800
all.mp4
#EXTINF:4,
#EXT-X-BYTERANGE:1500
all.mp4
#EXTINF:4,
#EXT-X-BYTERANGE:500@100000
all.mp4
#EXT-X-ENDLIST"""
    playlist = parse_hls(text, "https://cdn.example/v/index.m3u8")
    assert isinstance(playlist, MediaPlaylist)
    assert [s.byte_range for s in playlist.segments] == [(800, 1799), (1800, 3299), (100000, 100499)]
    assert playlist.segments[0].init is not None and playlist.segments[0].init.byte_range == (0, 799)


def test_live_playlist_and_sample_aes_are_marked():
    text = '#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://x"\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n'
    playlist = parse_hls(text, BASE)
    assert isinstance(playlist, MediaPlaylist)
    assert playlist.live
    assert all(s.key is not None and not s.key.decryptable for s in playlist.segments)


@pytest.mark.parametrize("text", ["", "not a playlist", "#EXTM3U\n#EXT-X-ENDLIST\n", "<html>#EXTM3U</html>"])
def test_unreadable_hls(text):
    with pytest.raises(PlaylistError):
        parse_hls(text, BASE)


def test_huge_playlists_are_bounded():
    text = "#EXTM3U\n" + "#EXTINF:1,\ns.ts\n" * (MAX_SEGMENTS + 100)
    playlist = parse_hls(text, BASE)
    assert isinstance(playlist, MediaPlaylist)
    assert len(playlist.segments) == MAX_SEGMENTS and playlist.truncated


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT22.4S", 22.4), ("PT1H2M3.5S", 3723.5), ("P1DT1S", 86401.0), ("PT10M", 600.0), ("bogus", None), (None, None)],
)
def test_iso_durations(text, seconds):
    assert parse_iso_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def mpd(body: str, duration: str = "PT60S", extra: str = "") -> str:
    return (
        f'<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        f'mediaPresentationDuration="{duration}" {extra}><Period>{body}</Period></MPD>'
    )


def test_dash_template_with_number_and_inheritance():
    text = mpd(
        """<BaseURL>media/</BaseURL>
<AdaptationSet contentType="audio"><Representation id="a" bandwidth="128000"/></AdaptationSet>
<AdaptationSet mimeType="video/mp4">
  <SegmentTemplate timescale="1000" duration="4000" startNumber="0"
      initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number%05d$.m4s"/>
  <Representation id="v360" bandwidth="600000" width="640" height="360"/>
  <Representation id="v720" bandwidth="2400000" width="1280" height="720"/>
</AdaptationSet>""",
        duration="PT30S",
    )
    manifest = parse_dash(text, "https://cdn.example/d/manifest.mpd")
    assert [r.id for r in manifest.renditions] == ["v360", "v720"]
    chosen = choose_rendition(manifest.renditions, min_short_side=240)
    assert chosen.id == "v360"
    playlist = chosen.playlist
    assert playlist is not None
    assert len(playlist.segments) == 8  # ceil(30 / 4)
    assert playlist.segments[0].url == "https://cdn.example/d/media/v360/00000.m4s"
    assert playlist.segments[-1].url == "https://cdn.example/d/media/v360/00007.m4s"
    assert playlist.segments[3].start == 12.0
    assert playlist.init is not None and playlist.init.url == "https://cdn.example/d/media/v360/init.mp4"


def test_dash_timeline_with_time_and_repeats():
    text = mpd(
        """<AdaptationSet contentType="video"><Representation id="v" bandwidth="500000" width="640" height="360">
<SegmentTemplate timescale="90000" media="v/$Time$.m4s" initialization="v/init.m4s">
<SegmentTimeline><S t="0" d="180000" r="2"/><S d="90000"/><S t="900000" d="180000" r="-1"/></SegmentTimeline>
</SegmentTemplate></Representation></AdaptationSet>""",
        duration="PT14S",
    )
    playlist = parse_dash(text, "https://cdn.example/m.mpd").renditions[0].playlist
    assert playlist is not None
    assert [s.url.rsplit("/", 1)[1] for s in playlist.segments] == [
        "0.m4s",
        "180000.m4s",
        "360000.m4s",
        "540000.m4s",
        "900000.m4s",
        "1080000.m4s",
    ]
    assert [s.start for s in playlist.segments] == [0.0, 2.0, 4.0, 6.0, 10.0, 12.0]


def test_dash_segment_list_and_drm():
    text = mpd(
        """<AdaptationSet contentType="video">
<ContentProtection schemeIdUri="urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"/>
<Representation id="v" bandwidth="500000" width="640" height="360"><BaseURL>https://media.example/x/</BaseURL>
<SegmentList timescale="10" duration="40"><Initialization sourceURL="i.mp4"/>
<SegmentURL media="a.m4s"/><SegmentURL media="b.m4s" mediaRange="100-199"/></SegmentList>
</Representation></AdaptationSet>""",
        duration="PT8S",
    )
    [rendition] = parse_dash(text, "https://cdn.example/m.mpd").renditions
    assert rendition.drm == "urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
    playlist = rendition.playlist
    assert playlist is not None
    assert [(s.url, s.byte_range, s.start) for s in playlist.segments] == [
        ("https://media.example/x/a.m4s", None, 0.0),
        ("https://media.example/x/b.m4s", (100, 199), 4.0),
    ]
    assert playlist.init is not None and playlist.init.url == "https://media.example/x/i.mp4"


def sidx(references: list[tuple[int, int]], timescale: int = 1000, first_offset: int = 0) -> bytes:
    body = struct.pack(">BBBBIIIIHH", 0, 0, 0, 0, 1, timescale, 0, first_offset, 0, len(references))
    for size, duration in references:
        body += struct.pack(">III", size, duration, 0x90000000)
    return struct.pack(">I", 8 + len(body)) + b"sidx" + body


def test_dash_segment_base_and_its_index():
    text = mpd(
        """<AdaptationSet contentType="video"><Representation id="v" bandwidth="500000" width="640" height="360">
<BaseURL>v.mp4</BaseURL><SegmentBase indexRange="800-899"><Initialization range="0-799"/></SegmentBase>
</Representation></AdaptationSet>"""
    )
    playlist = parse_dash(text, "https://cdn.example/d/m.mpd").renditions[0].playlist
    assert playlist is not None and playlist.index_url == "https://cdn.example/d/v.mp4"
    assert playlist.index_range == (800, 899)
    box = sidx([(5000, 4000), (6000, 4000), (7000, 2000)])
    indexed = parse_sidx(box, playlist.index_url, (800, 800 + len(box) - 1), playlist.init)
    anchor = 800 + len(box)
    assert [(s.byte_range, s.start, s.duration) for s in indexed.segments] == [
        ((anchor, anchor + 4999), 0.0, 4.0),
        ((anchor + 5000, anchor + 10999), 4.0, 4.0),
        ((anchor + 11000, anchor + 17999), 8.0, 2.0),
    ]
    assert all(s.init is not None and s.init.byte_range == (0, 799) for s in indexed.segments)
    with pytest.raises(PlaylistError):
        parse_sidx(b"\x00\x00\x00\x10moof" + bytes(8), "u", (0, 15), None)


@pytest.mark.parametrize(
    "text",
    [
        '<?xml version="1.0"?><!DOCTYPE MPD [<!ENTITY a "aaaa">]><MPD><Period/></MPD>',
        '<?xml version="1.0"?><!DOCTYPE MPD SYSTEM "file:///etc/passwd"><MPD/>',
        "<MPD><Period><AdaptationSet contentType='video'><Representation id='v'>"
        "<SegmentTemplate media='$Number$.m4s'/></Representation></AdaptationSet></Period></MPD>",
        "<html><body>not a manifest</body></html>",
        "<MPD",
        mpd(
            "<AdaptationSet contentType='video'><Representation id='v' bandwidth='1'>"
            "<SegmentTemplate media='$Number$.m4s' duration='2'/></Representation></AdaptationSet>",
            extra='type="dynamic"',
        ).replace('mediaPresentationDuration="PT60S"', ""),
    ],
)
def test_unreadable_or_hostile_manifests_are_refused(text):
    with pytest.raises(PlaylistError):
        parse_dash(text, "https://cdn.example/m.mpd")


def test_template_expansion_is_bounded():
    text = mpd(
        "<AdaptationSet contentType='video'><Representation id='v' bandwidth='1' width='640' height='360'>"
        "<SegmentTemplate media='$Number$.m4s' duration='1' timescale='1000'/></Representation></AdaptationSet>",
        duration="P3650D",
    )
    playlist = parse_dash(text, "https://cdn.example/m.mpd").renditions[0].playlist
    assert playlist is not None and len(playlist.segments) == MAX_SEGMENTS and playlist.truncated


def test_sample_is_spread_over_the_whole_stream():
    playlist = parse_hls("#EXTM3U\n" + "".join(f"#EXTINF:6,\ns{i}.ts\n" for i in range(100)), BASE)
    assert isinstance(playlist, MediaPlaylist)
    chosen = sample_segments(playlist.segments, 12)
    indexes = [s.index for s in chosen]
    assert len(indexes) == 12 and indexes == sorted(indexes)
    assert indexes[0] < 10 and indexes[-1] > 90
    assert max(b - a for a, b in itertools.pairwise(indexes)) <= 9
    assert sample_segments(playlist.segments[:5], 12) == list(playlist.segments[:5])
    assert sample_segments(playlist.segments, 0) == []
