"""Video and animation hashing, vPDQ comparison, the CLI end to end, and the no-Django rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, encode, scene
from PIL import Image

from takedown.hashing.matcher import best_match, hash_found
from takedown.hashing.media import hash_file
from takedown.hashing.video import compare_videos, hash_video

PY = sys.executable


def _cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "takedown.hashing", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _gif(path: Path, frames: int = 8, ms: int = 500) -> Path:
    images = [Image.fromarray(scene(120, 160, seed=1 + i // 2)) for i in range(frames)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=ms, loop=0)
    return path


def test_animated_gif_hashed_like_video(tmp_path: Path) -> None:
    media = hash_file(_gif(tmp_path / "a.gif"))
    frames = [h for h in media.hashes if h.variant == "frame"]
    assert media.kind == "video"
    # 8 frames x 0.5 s = 4 s -> samples at 0,1,2,3 s; pictures change every 1 s -> 4 distinct.
    assert len(frames) == 4
    assert {h.signal for h in media.hashes if h.variant == "file"} == {"md5", "sha256"}


def test_shared_videos_match_their_variants_not_others(videos: Path) -> None:
    folder = videos / "cc0_mdn"
    mp4, webm, other = (hash_video(folder / n) for n in ("flower.mp4", "flower.webm", "friday.mp4"))
    assert compare_videos(webm, mp4).matched
    assert compare_videos(mp4, webm).matched
    assert not compare_videos(other, mp4).matched
    assert not compare_videos(mp4, other).matched


def test_letterboxed_video_matches_after_trim(videos: Path) -> None:
    folder = videos / "bsd_threatexchange_tmk"
    registered = list(hash_file(folder / "pattern-hd-no-bar.mp4").hashes)
    found = list(hash_found(folder / "pattern-sd-grey-bar.mp4").hashes)
    match = best_match(registered, found)
    assert match is not None
    assert match.matched
    assert match.found_variant == "frame-trim"


def test_cli_hash_inspect_compare(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.png").write_bytes(encode(scene(seed=1)))
    (src / "sub" / "b.jpg").write_bytes(encode(scene(seed=2), "JPEG"))
    _gif(src / "sub" / "c.gif")
    (src / "broken.jpg").write_bytes(encode(scene(seed=3), "JPEG")[:500])
    (src / "notes.txt").write_text("hello")
    bomb = Image.new("1", (60000, 60000))
    bomb.save(src / "bomb.png")
    out = tmp_path / "bundle.json"
    result = _cli("hash", str(src), "-o", str(out), "--progress")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "hashed 3, skipped 3" in result.stderr
    assert "broken.jpg: image data is truncated or corrupt" in result.stderr
    assert "bomb.png: image declares" in result.stderr
    assert "decompression bomb" in result.stderr
    assert "notes.txt: not an image or video format" in result.stderr
    assert "[##############################] 6/6" in result.stderr
    bundle = json.loads(out.read_text())
    assert [i["kind"] for i in bundle["items"]] == ["image", "image", "video"]
    assert "a.png" not in out.read_text()

    inspected = _cli("inspect", str(out))
    assert inspected.returncode == 0
    assert "3 items: 2 images, 1 video" in inspected.stdout

    copy = tmp_path / "copy.jpg"
    Image.fromarray(scene(seed=1)).resize((300, 225)).save(copy, quality=70)
    compared = _cli("compare", str(src / "a.png"), str(copy))
    assert compared.returncode == 0
    assert "MATCH: pdq distance" in compared.stdout
    compared = _cli("compare", str(out), str(copy))
    assert compared.returncode == 0
    assert compared.stdout.count("MATCH") == 1
    unrelated = _cli("compare", str(src / "a.png"), str(src / "sub" / "b.jpg"))
    assert unrelated.returncode == 3
    assert "no match" in unrelated.stdout


def test_cli_nothing_hashed_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    result = _cli("hash", str(bad), str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.json"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "missing.png: no such file" in result.stderr
    assert not (tmp_path / "o.json").exists()


def test_cli_invalid_bundle_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"format": "takedown-hash-bundle", "version": 9, "tool": {}, "items": []}')
    result = _cli("inspect", str(path))
    assert result.returncode == 2
    assert "unsupported bundle version 9" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_does_not_pull_django() -> None:
    code = (
        "import sys, takedown.hashing, takedown.cli.hashing, takedown.hashing.matcher, takedown.hashing.bundle;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'celery', 'rest_framework')];"
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    result = subprocess.run([PY, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("n", [np.uint8(0)])
def test_video_rejects_non_video(tmp_path: Path, n: np.uint8) -> None:
    from takedown.hashing.errors import UnreadableMediaError

    path = tmp_path / "x.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes([int(n)]) * 100)
    with pytest.raises(UnreadableMediaError):
        hash_video(path)
