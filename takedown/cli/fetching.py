"""``python -m takedown.fetching check URL... --bundle BUNDLE.json``: check pages the way the service does.

For advocates and outside reviewers: each URL is fetched under the service's fetch policy (the
address rules, pinning, caps; loopback only with ``--allow-loopback``, for local test pages),
every medium found on it (images, videos, a sample of each streamed video, the next pages of a
thread, the rendered page with ``--render``) is hashed on the checking side exactly as the service
hashes it (:func:`takedown.hashing.matcher.hash_found`, :func:`takedown.hashing.video.found_segment_hashes`)
and compared with every item of the survivor's hash bundle (:func:`takedown.hashing.matcher.best_matches`).

The output is one JSON array on stdout, one object per URL: what was found (``url``, ``how``,
``kind``, ``frames`` for videos, the sampled segments of a stream), the best match of each medium
(``matched``, ``signal``, ``distance``, ``bundle_item``) or why it could not be hashed, the
candidates that could not be fetched, and whether the page was read fully (``partial``: login
wall, age gate, bot challenge ...). The exit status is 0 whenever the URLs were checked, matching
or not; 2 when the arguments or the bundle are unusable. No traceback is ever printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from takedown.fetching import (
    DEFAULT_USER_AGENT,
    FetchError,
    FetchPolicy,
    PageMedium,
    PageRenderer,
    PageResult,
    RenderMode,
    default_renderer,
    fetch_media,
    obstacle_reading,
    system_resolver,
)
from takedown.hashing import __version__
from takedown.hashing.bundle import Bundle, load_bundle
from takedown.hashing.errors import BundleError, HashingError
from takedown.hashing.hashes import FRAME, Hash
from takedown.hashing.matcher import Match, best_matches, hash_found
from takedown.hashing.video import found_segment_hashes

#: Exit status when the arguments or the bundle cannot be used.
USAGE_ERROR = 2


@dataclass(frozen=True)
class StaticResolver:
    """``--resolve HOST:ADDRESS`` (like curl's): answers for the named hosts, the system resolver
    for the rest. The answers are still checked by the address policy like any DNS answer."""

    table: dict[str, list[str]]

    def __call__(self, host: str) -> list[str]:
        if host in self.table:
            return list(self.table[host])
        return system_resolver(host)


def _match_dict(match: Match | None, item_id: str | None) -> dict[str, Any] | None:
    if match is None:
        return None
    return {
        "matched": match.matched,
        "signal": match.signal,
        "distance": match.distance,
        "bundle_item": item_id,
        "registered_variant": match.registered_variant,
        "found_variant": match.found_variant,
        "detail": match.detail,
    }


def best_in_bundle(bundle: Bundle, found: Sequence[Hash]) -> tuple[Match | None, str | None]:
    """The best match of a found medium over every bundle item, chosen as the service chooses it
    (a match beats a miss, then the smaller distance)."""
    best: tuple[Match, str] | None = None
    matches = best_matches([list(item.hashes) for item in bundle.items], found)
    for item, match in zip(bundle.items, matches, strict=True):
        if match is None:
            continue
        if best is None or (match.matched, -match.distance) > (best[0].matched, -best[0].distance):
            best = (match, item.id)
    return (best[0], best[1]) if best is not None else (None, None)


def _error_dict(error: BaseException) -> dict[str, Any]:
    if isinstance(error, FetchError):
        return {"reason": error.reason, "message": str(error)}
    if isinstance(error, HashingError):
        return {"reason": "unreadable", "message": str(error)}
    return {"reason": "error", "message": f"{type(error).__name__}: {error}"[:500]}


def medium_report(medium: PageMedium, bundle: Bundle) -> dict[str, Any]:
    """One found medium: where it came from, its hashes' summary, and its best match."""
    entry: dict[str, Any] = {
        "url": medium.url,
        "how": medium.how,
        "source": medium.source,
        "page": medium.page,
        "kind": medium.kind,
    }
    try:
        if medium.stream is not None:
            sample = medium.stream
            entry["found"] = sample.candidate.how
            entry["playlist"] = {
                "format": sample.format,
                "url": sample.playlist_url,
                "media_playlist": sample.media_playlist_url,
                "rendition": sample.rendition.label,
                "renditions": len(sample.renditions),
                "duration": round(sample.duration, 3),
                "segments_total": sample.total_segments,
                "segments": [
                    {
                        "url": s.segment.url,
                        "start": round(s.segment.start, 3),
                        "fetched": s.data is not None,
                        **({"error": _error_dict(s.error)} if s.error is not None else {}),
                    }
                    for s in sample.segments
                ],
                "bytes": sample.bytes_fetched,
            }
            hashes = found_segment_hashes(sample.decodable_pieces())
        else:
            assert medium.result is not None
            result = medium.result
            entry.update(size=result.size, sha256=result.sha256, sniffed_type=result.sniffed_type)
            hashes = list(hash_found(result.body).hashes)
    except HashingError as exc:
        entry["match"] = None
        entry["error"] = _error_dict(exc)
        return entry
    if medium.kind == "video":
        entry["frames"] = sum(1 for h in hashes if h.variant == FRAME)
    match, item_id = best_in_bundle(bundle, hashes)
    entry["match"] = _match_dict(match, item_id)
    entry["error"] = None
    return entry


def page_report(url: str, page: PageResult, bundle: Bundle) -> dict[str, Any]:
    """The JSON object of one checked URL."""
    not_fetched = [
        {"url": o.candidate.url, "how": o.candidate.how, "source": o.candidate.source, "page": o.candidate.page}
        | {"error": _error_dict(o.error)}
        for o in page.outcomes
        if o.error is not None
    ] + [
        {"url": s.candidate.url, "how": s.candidate.how, "source": s.candidate.source, "page": s.candidate.page}
        | {"kind": "video", "error": _error_dict(s.error)}
        for s in page.streams
        if s.error is not None
    ]
    media = [medium_report(medium, bundle) for medium in page.found]
    rendered = page.rendered
    return {
        "url": url,
        "final_url": page.page.final_url,
        "status": page.page.status,
        "fetched_at": page.page.fetched_at.isoformat(),
        "read_fully": page.read_fully,
        "partial": [{"reason": p.reason, "detail": p.detail, "url": p.url} for p in page.partial],
        "error": None,
        "matched": any(m.get("match") and m["match"]["matched"] for m in media),
        "media": media,
        "not_fetched": not_fetched,
        "pages": [p.final_url for p in page.pages],
        "rendered": None
        if rendered is None
        else {
            "url": rendered.url,
            "requests": len(rendered.requests),
            "refused": sum(1 for r in rendered.requests if r.outcome == "refused"),
            "blocked": sum(1 for r in rendered.requests if r.outcome == "blocked"),
            "escaped_connections": rendered.escaped_connections,
            "elapsed": round(rendered.elapsed, 3),
        },
        "bytes_fetched": page.bytes_fetched,
        "requests": page.requests,
        # Fetching alone; "elapsed" (set by check_urls) includes hashing and matching.
        "fetch_elapsed": round(page.elapsed, 3),
    }


def error_report(url: str, error: FetchError) -> dict[str, Any]:
    """The JSON object of a URL that could not be fetched at all."""
    obstacle = obstacle_reading(error)
    return {
        "url": url,
        "final_url": None,
        "status": getattr(error, "status", None),
        "read_fully": False,
        "partial": [] if obstacle is None else [{"reason": obstacle.reason, "detail": obstacle.detail, "url": url}],
        "error": _error_dict(error),
        "matched": False,
        "media": [],
        "not_fetched": [],
        "pages": [],
        "rendered": None,
    }


def check_urls(
    urls: Sequence[str],
    bundle: Bundle,
    policy: FetchPolicy,
    *,
    renderer: PageRenderer | None = None,
    render: RenderMode = "auto",
) -> list[dict[str, Any]]:
    """Check each URL and return the report objects (the CLI prints them as one JSON array)."""
    reports: list[dict[str, Any]] = []
    for url in urls:
        started = time.monotonic()
        try:
            page = fetch_media(url, policy, renderer=renderer, render=render)
        except FetchError as error:
            report = error_report(url, error)
            report["elapsed"] = round(time.monotonic() - started, 3)
            reports.append(report)
            continue
        report = page_report(url, page, bundle)
        report["elapsed"] = round(time.monotonic() - started, 3)
        reports.append(report)
    return reports


def _resolve_table(values: Sequence[str]) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for value in values:
        host, sep, address = value.rpartition(":") if value.count(":") == 1 else value.partition(":")
        if not sep or not host or not address:
            raise ValueError(f"--resolve expects HOST:ADDRESS, not {value!r}")
        table.setdefault(host.strip().lower().rstrip("."), []).append(address.strip().strip("[]"))
    return table


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m takedown.fetching",
        description="Check reported pages against a hash bundle, the way the service checks them.",
    )
    parser.add_argument("--version", action="version", version=f"takedown-cli {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser(
        "check",
        help="fetch URLs safely, hash what is on them and compare with a bundle; prints one JSON array",
    )
    check.add_argument("urls", nargs="+", metavar="URL")
    check.add_argument("--bundle", required=True, metavar="BUNDLE.json", help="the survivor's hash bundle")
    check.add_argument(
        "--allow-loopback",
        action="store_true",
        help="also fetch from this machine (127.0.0.0/8, ::1, any port): for local test pages only",
    )
    check.add_argument(
        "--render",
        nargs="?",
        const="auto",
        choices=("auto", "always"),
        help="render pages in Chromium when their HTML shows no medium (auto), or always",
    )
    check.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST:ADDRESS",
        help="answer for HOST with ADDRESS instead of DNS (the address is still checked); repeatable",
    )
    check.add_argument("--max-pages", type=int, default=None, help="pages of a thread or gallery to read")
    check.add_argument("--timeout", type=float, default=None, help="seconds allowed per URL (default 300)")
    check.add_argument("--user-agent", default=DEFAULT_USER_AGENT, help=argparse.SUPPRESS)
    check.set_defaults(func=cmd_check)
    return parser


def cmd_check(args: argparse.Namespace) -> int:
    bundle = load_bundle(Path(args.bundle).read_bytes())
    table = _resolve_table(args.resolve)
    policy = FetchPolicy(
        allow_loopback=args.allow_loopback,
        allowed_ports=None if args.allow_loopback else FetchPolicy().allowed_ports,
        resolver=StaticResolver(table) if table else system_resolver,
        user_agent=args.user_agent,
    )
    if args.max_pages is not None:
        policy = replace(policy, max_pages=args.max_pages)
    if args.timeout is not None:
        policy = replace(policy, page_timeout=args.timeout, total_timeout=min(policy.total_timeout, args.timeout))
    renderer = None
    if args.render:
        renderer = default_renderer()
        if renderer is None:
            print("warning: Chromium or Playwright is not installed; pages are read without rendering", file=sys.stderr)
    try:
        reports = check_urls(args.urls, bundle, policy, renderer=renderer, render=args.render or "never")
    finally:
        if renderer is not None:
            renderer.close()
    json.dump(reports, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BundleError as exc:
        print(f"error: invalid bundle: {exc}", file=sys.stderr)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - an advocate should never see a traceback
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
    return USAGE_ERROR
