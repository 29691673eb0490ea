"""``python -m takedown.hashing``: hash files into a bundle, compare, and explain bundles.

Face templates (``faces``) and checks against them (``faces-compare``) are sub-commands of the same
tool, implemented in :mod:`takedown.cli.faces`.

Runs offline with only the hashing library (no Django, no network). Every file that cannot be
used is reported with a reason and skipped; the exit status is non-zero only when nothing at all
could be hashed (or a bundle given to ``compare``/``inspect`` is invalid), so a survivor hashing
a folder is never stopped by one broken file.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO, cast

from takedown.cli import faces
from takedown.cli.files import walk
from takedown.hashing import __version__
from takedown.hashing.bits import hamming_hex
from takedown.hashing.bundle import Bundle, BundleItem, Kind, build_bundle, dump_bundle, load_bundle, make_item
from takedown.hashing.errors import BundleError, HashingError
from takedown.hashing.hashes import Hash
from takedown.hashing.matcher import Match, best_match, hash_found
from takedown.hashing.media import hash_file
from takedown.hashing.signals import PDQ_MIN_QUALITY, SIGNAL_TYPES

_BAR_WIDTH = 30


class Progress:
    """A one-line progress bar on stderr, redrawn in place; silent when stderr is not a tty
    unless forced, so logs stay readable."""

    def __init__(self, total: int, stream: TextIO, enabled: bool) -> None:
        self.total, self.stream, self.enabled = total, stream, enabled
        self.done = 0

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        filled = _BAR_WIDTH * self.done // max(1, self.total)
        name = label if len(label) <= 40 else "..." + label[-37:]
        self.stream.write(f"\r[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {self.done}/{self.total} {name:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def cmd_hash(args: argparse.Namespace) -> int:
    files = list(walk(args.paths))
    err: TextIO = sys.stderr
    progress = Progress(len(files), err, args.progress or err.isatty())
    items: list[BundleItem] = []
    skipped: list[tuple[Path, str]] = []
    warnings: list[tuple[Path, str]] = []
    seen: dict[str, Path] = {}
    for path in files:
        progress.step(str(path))
        try:
            media = hash_file(path, register_variants=not args.no_variants)
        except HashingError as exc:
            skipped.append((path, str(exc)))
            continue
        sha = next(h.value for h in media.hashes if h.signal == "sha256")
        if sha in seen:
            skipped.append((path, f"same file as {seen[sha]}"))
            continue
        seen[sha] = path
        pdq = [h for h in media.hashes if h.signal == "pdq" and h.variant in ("original", "frame")]
        if pdq and all((h.quality or 0) < PDQ_MIN_QUALITY for h in pdq):
            warnings.append(
                (
                    path,
                    f"low PDQ quality ({max(h.quality or 0 for h in pdq)}): too little detail for PDQ; "
                    "exact and 64-bit hashes still work",
                )
            )
        items.append(make_item(cast(Kind, media.kind), media.hashes))
    progress.close()
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=err)
    for path, reason in warnings:
        print(f"warning {path}: {reason}", file=err)
    print(f"hashed {len(items)}, skipped {len(skipped)}", file=err)
    if not items:
        print("nothing could be hashed; no bundle written", file=err)
        return 1
    bundle = build_bundle(items, "takedown-cli", __version__)
    text = dump_bundle(bundle)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(
            f"wrote {args.output} ({len(items)} items, {sum(len(i.hashes) for i in items)} hashes); "
            "it contains hashes only: no file names, pictures or metadata",
            file=err,
        )
    return 0


def _load_side(path: str, registering: bool) -> list[tuple[str, list[Hash]]]:
    """A bundle gives its items; a media file is hashed (registering or checking side)."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        bundle = load_bundle(p.read_bytes())
        return [(f"{p.name}#{item.id[:8]}", list(item.hashes)) for item in bundle.items]
    media = hash_file(p) if registering else hash_found(p)
    return [(p.name, list(media.hashes))]


def _plain_distances(a: list[Hash], b: list[Hash]) -> str:
    parts = []
    for signal in ("pdq", "phash", "dhash"):
        x = next((h for h in a if h.signal == signal and h.variant == "original"), None)
        y = next((h for h in b if h.signal == signal and h.variant in ("original", "found")), None)
        if x and y:
            parts.append(f"{signal} {hamming_hex(x.value, y.value)}/{SIGNAL_TYPES[signal].default_threshold}")
    return ", ".join(parts)


def _verdict(m: Match | None) -> str:
    if m is None:
        return "NO COMMON SIGNAL"
    what = f"{m.signal} distance {m.distance}" if not m.detail else m.detail
    via = f" (registered {m.registered_variant} vs found {m.found_variant})"
    return ("MATCH: " if m.matched else "no match: closest ") + what + via


def cmd_compare(args: argparse.Namespace) -> int:
    left = _load_side(args.a, registering=True)
    right = _load_side(args.b, registering=False)
    any_match = False
    for a_name, a_hashes in left:
        for b_name, b_hashes in right:
            m = best_match(a_hashes, b_hashes)
            any_match = any_match or bool(m and m.matched)
            plain = _plain_distances(a_hashes, b_hashes)
            print(f"{a_name} vs {b_name}: {_verdict(m)}" + (f"; originals: {plain}" if plain else ""))
    return 0 if any_match else 3


def _describe(bundle: Bundle) -> Iterator[str]:
    yield f"hash bundle version {bundle.version}, made by {bundle.tool_name} {bundle.tool_version}"
    kinds = Counter(item.kind for item in bundle.items)
    yield (
        f"{len(bundle.items)} items"
        + (": " if kinds else " (face templates only)")
        + ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in sorted(kinds.items()))
    )
    yield "it holds hashes only: no file names, paths, dates, metadata or pictures"
    if bundle.face_templates:
        models = ", ".join(sorted({f.model for f in bundle.face_templates}))
        yield (
            f"{len(bundle.face_templates)} face template(s) ({models}): numbers describing a face, "
            "not pictures; added only with the survivor's consent"
        )
    for item in bundle.items:
        counts = Counter(h.signal for h in item.hashes)
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        line = f"- {item.id} {item.kind}: {summary}"
        if item.kind == "image":
            variants = sorted({h.variant for h in item.hashes if h.signal == "pdq" and h.variant != "original"})
            line += f"; PDQ variants: {', '.join(variants) or 'none'}"
        low = [h for h in item.hashes if h.signal == "pdq" and (h.quality or 0) < PDQ_MIN_QUALITY]
        if low:
            line += f"; {len(low)} PDQ hash(es) below quality {PDQ_MIN_QUALITY} will not be used for matching"
        yield line


def cmd_inspect(args: argparse.Namespace) -> int:
    bundle = load_bundle(Path(args.bundle).read_bytes())
    for line in _describe(bundle):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m takedown.hashing",
        description="Hash pictures and videos on this computer; only hashes leave it.",
    )
    parser.add_argument("--version", action="version", version=f"takedown-cli {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    h = sub.add_parser("hash", help="hash files and folders into a bundle")
    h.add_argument("paths", nargs="+", metavar="PATH")
    h.add_argument(
        "-o", "--output", required=True, metavar="BUNDLE.json", help="where to write the bundle ('-' for stdout)"
    )
    h.add_argument("--no-variants", action="store_true", help="hash originals only (no crop/rotation variants)")
    h.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    h.set_defaults(func=cmd_hash)
    c = sub.add_parser("compare", help="compare two files or bundles (A registered, B found)")
    c.add_argument("a", metavar="A")
    c.add_argument("b", metavar="B")
    c.set_defaults(func=cmd_compare)
    i = sub.add_parser("inspect", help="explain what a bundle contains")
    i.add_argument("bundle", metavar="BUNDLE")
    i.set_defaults(func=cmd_inspect)
    faces.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BundleError as exc:
        print(f"error: invalid bundle: {exc}", file=sys.stderr)
    except HashingError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a survivor should never see a traceback
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
    return 2
