"""``python -m takedown.fetching check``, run as an advocate runs it, against the archetype site."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fetching.archetypes.site import HOSTS, Site

REPO = Path(__file__).resolve().parents[3]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takedown.fetching", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def check(site: Site, *urls: str, extra: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], str]:
    resolve = [option for host in HOSTS for option in ("--resolve", f"{host}:127.0.0.1")]
    done = run_cli("check", *urls, "--bundle", str(site.bundle_path), "--allow-loopback", *resolve, *extra)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout), done.stderr


def test_check_prints_one_json_array_with_media_how_and_matches(site: Site) -> None:
    urls = [site.url("/watch/1", "tube.test"), site.url("/article", "news.test"), site.url("/watch/3", "tube.test")]
    reports, _ = check(site, *urls)
    assert [r["url"] for r in reports] == urls
    tube, article, unrelated = reports
    stream = next(m for m in tube["media"] if m["kind"] == "video")
    assert (stream["how"], stream["found"]) == ("playlist", "inline-json")
    assert stream["frames"] > 0 and len(stream["playlist"]["segments"]) == 12
    assert stream["match"]["matched"] and stream["match"]["bundle_item"] == site.items["video:chair"]
    assert {"matched", "signal", "distance", "bundle_item"} <= set(stream["match"])
    assert tube["matched"] and tube["read_fully"] and tube["error"] is None
    image = next(m for m in article["media"] if m["url"].endswith("/p2.jpg"))
    assert (image["how"], image["kind"], image["match"]["matched"]) == ("json-ld", "image", True)
    assert image["match"]["bundle_item"] == site.items["photo:2"]
    # Nothing matching is still exit status 0, with the closest miss reported.
    assert not unrelated["matched"]
    assert unrelated["media"][0]["match"]["matched"] is False


def test_partial_reads_and_refusals_are_in_the_output(site: Site) -> None:
    reports, _ = check(
        site, site.url("/video/5", "adult.test"), "not a url", f"http://169.254.169.254:{site.server.port}/latest/"
    )
    gate, bad, metadata = reports
    assert gate["media"] == [] and not gate["read_fully"]
    assert gate["partial"][0]["reason"] == "age_gate"
    assert bad["error"]["reason"] == "bad_scheme"
    assert metadata["error"]["reason"] == "forbidden_address"


@pytest.mark.browser
def test_render_option_reads_a_script_built_gallery(site: Site) -> None:
    reports, _ = check(site, site.url("/album/7", "gallery.test"), extra=("--render",))
    [gallery] = reports
    assert gallery["rendered"] is not None and gallery["rendered"]["escaped_connections"] == 0
    matched = [m for m in gallery["media"] if m["match"] and m["match"]["matched"]]
    assert [(m["how"], m["match"]["bundle_item"]) for m in matched] == [("rendered", site.items["photo:1"])]


def test_bad_input_gives_a_message_not_a_traceback(site: Site, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 99}')
    for args in (
        ("check", "http://example.org/", "--bundle", str(broken)),
        ("check", "http://example.org/", "--bundle", str(tmp_path / "missing.json")),
        ("check", "http://example.org/", "--bundle", str(site.bundle_path), "--resolve", "nonsense"),
    ):
        done = run_cli(*args)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error:") and "Traceback" not in done.stderr
        assert done.stdout == ""
