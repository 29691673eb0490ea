"""A streamed video known by a sample of its segments hashes and matches like the downloaded file."""

from __future__ import annotations

from pathlib import Path

import pytest

from takedown.hashing.errors import FileTooLargeError, UnreadableMediaError
from takedown.hashing.matcher import best_match
from takedown.hashing.media import hash_file
from takedown.hashing.video import found_segment_hashes, hash_video_segments
from tests.fetching.archetypes.media import encode_dash, encode_hls


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory, videos: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("streams")
    source = videos / "bsd_threatexchange_tmk" / "chair-orig-22-sd-bar.mp4"
    return {
        "source": source,
        "hls": encode_hls([source], root / "hls", [(320, 480)]).parent / "320x480",
        "dash": encode_dash([source], root / "dash", [(320, 480)]).parent,
        "other": encode_hls([videos / "cc0_mdn" / "flower.mp4"], root / "other", [(480, 270)]).parent / "480x270",
    }


def ts_pieces(folder: Path, every: int = 3) -> list[bytes]:
    return [p.read_bytes() for p in sorted(folder.glob("seg_*.ts"))[::every]]


def test_mpeg_ts_segments_match_the_registered_video(streams):
    registered = list(hash_file(streams["source"]).hashes)
    found = found_segment_hashes(ts_pieces(streams["hls"]))
    assert {h.variant for h in found} <= {"frame", "frame-trim"}
    match = best_match(registered, found)
    assert match is not None and match.matched and match.signal == "pdq"
    unrelated = found_segment_hashes(ts_pieces(streams["other"], every=1))
    miss = best_match(registered, unrelated)
    assert miss is not None and not miss.matched


def test_fmp4_segments_need_their_init_and_then_match(streams):
    folder = streams["dash"]
    init = (folder / "init-0.m4s").read_bytes()
    chunks = [p.read_bytes() for p in sorted(folder.glob("chunk-0-*.m4s"))[::3]]
    with pytest.raises(UnreadableMediaError):
        hash_video_segments(chunks)  # without the moov box nothing can be decoded
    found = hash_video_segments([init + chunk for chunk in chunks])
    match = best_match(list(hash_file(streams["source"]).hashes), found)
    assert match is not None and match.matched


def test_broken_pieces_are_skipped_and_limits_hold(streams):
    pieces = ts_pieces(streams["hls"])
    good = hash_video_segments(pieces)
    assert hash_video_segments([b"\x47" + bytes(5000), *pieces, b"garbage" * 100]) == good
    with pytest.raises(UnreadableMediaError):
        hash_video_segments([b"garbage" * 100])
    with pytest.raises(FileTooLargeError):
        hash_video_segments(pieces, max_bytes=100)
