"""Before / after for issue 17, through the public interface only: HEAD's matcher against the tree's.

``bench/robustness.py`` measures the tree's matcher in depth (every candidate variant, both halves,
both draws). This script answers a narrower question the way an outside evaluator would: for a
sample of photos that were *not* used to choose anything (the *confirm* half of
``bench/robustness.py``'s seeded split) and the edit families drawn the *check* way
(``bench/edits.py``), how many copies does each version of ``takedown.hashing`` recall, how many
false matches does it make over all ordered pairs of different photos, how long does the checking
side take on a 12 MP JPEG, and how large is the survivor's bundle per image?

Each version runs in its own process with only the public functions: registering side
``media.hash_file``, checking side ``matcher.hash_found`` and ``matcher.best_match`` (as
``takedown.matching`` uses them). The *before* version is the ``takedown/hashing`` package of a git
revision (default HEAD), unpacked with ``git archive`` into a temporary directory; *after* is the
working tree. Nothing is downloaded; the photos are read in place.

    .venv/bin/python bench/robustness_compare.py --limit 40            # prints the table
    .venv/bin/python bench/robustness_compare.py --limit 40 --write    # also into docs/benchmarks/robustness.md
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

REPO = Path(__file__).resolve().parent.parent
PHOTOS = REPO.parent / "shared" / "data" / "photos"
DOC = REPO / "docs" / "benchmarks" / "robustness.md"
#: The split of bench/robustness.py: the same seed over the same sorted list of photos.
SPLIT_SEED = 17
CONFIRM_HALF = 1
SEED = 20261205
MARK_BEGIN = "<!-- robustness_compare:begin -->"
MARK_END = "<!-- robustness_compare:end -->"


def photo_paths() -> list[Path]:
    return sorted(p for p in PHOTOS.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})


def held_out_sample(limit: int) -> list[Path]:
    """``limit`` photos of the confirm half, spread evenly over the sorted list (every folder)."""
    paths = photo_paths()
    halves = np.random.default_rng(SPLIT_SEED).integers(0, 2, len(paths))
    confirm = [p for p, half in zip(paths, halves, strict=True) if half == CONFIRM_HALF]
    return confirm[:: max(1, len(confirm) // limit)][:limit]


def _jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


#: A few common edits, to show they did not regress (the full list is in bench/robustness.py).
COMMON = {
    "jpeg q50": lambda im, r: _jpeg(im, 50),
    "resize 0.5x": lambda im, r: _jpeg(im.resize((im.size[0] // 2, im.size[1] // 2), Image.Resampling.LANCZOS), 85),
    "brightness +30%": lambda im, r: _jpeg(ImageEnhance.Brightness(im).enhance(1.3), 85),
    "flip": lambda im, r: _jpeg(ImageOps.mirror(im), 85),
}


def edits() -> dict[str, tuple[str, object]]:
    """name -> (family, edit(im, rng) -> bytes): the common edits and every family, check draw."""
    sys.path.insert(0, str(REPO / "bench"))
    from edits import FAMILY_EDITS

    out: dict[str, tuple[str, object]] = {name: ("common edits", fn) for name, fn in COMMON.items()}
    for name, (family, edit) in FAMILY_EDITS.items():
        out[name] = (family, lambda im, r, edit=edit: edit(im, r, "check"))
    return out


# ------------------------------------------------------------------ one version, in its own process


def run_version(code: Path, paths: list[Path], timing_count: int) -> dict[str, object]:
    """Everything measured for one version of takedown.hashing (imported from ``code``)."""
    sys.path.insert(0, str(code))
    from takedown.hashing.bundle import build_bundle, dump_bundle, make_item
    from takedown.hashing.matcher import best_match, hash_found
    from takedown.hashing.media import hash_file

    assert Path(sys.modules["takedown.hashing.matcher"].__file__ or "").is_relative_to(code)
    registered = [list(hash_file(p).hashes) for p in paths]
    per_image = [len(r) for r in registered]
    bundle = dump_bundle(build_bundle([make_item("image", r) for r in registered]))
    results: dict[str, dict[str, object]] = {}
    for name, (family, edit) in edits().items():
        own, false_pairs, closest = [], 0, []
        for i, path in enumerate(paths):
            with Image.open(path) as opened:
                full = ImageOps.exif_transpose(opened).convert("RGB")
            rng = np.random.default_rng([SEED, zlib.crc32(path.name.encode()), zlib.crc32(name.encode())])
            found = list(hash_found(edit(full, rng)).hashes)  # type: ignore[operator]
            found = [h for h in found if h.signal not in {"sha256", "md5"}]
            match = best_match(registered[i], found)
            own.append(bool(match is not None and match.matched))
            for j, reg in enumerate(registered):
                if j != i:
                    other = best_match(reg, found)
                    if other is not None and other.matched:
                        false_pairs += 1
                        closest.append(f"{paths[i].name} ~ {paths[j].name}: {other.found_variant}")
        results[name] = {"family": family, "own": own, "false_pairs": false_pairs, "false_examples": closest[:5]}
    return {
        "results": results,
        "hashes_per_image": statistics.median(per_image),
        "bundle_bytes_per_image": len(bundle.encode()) / len(paths),
        "timing": timing(
            paths[:timing_count],
            registered[:20],
            hash_found,
            best_match,
            getattr(sys.modules["takedown.hashing.matcher"], "prepare_found", None),
            getattr(sys.modules["takedown.hashing.matcher"], "best_matches", None),
        ),
    }


def timing(
    paths: list[Path],
    registered: Sequence[Sequence[object]],
    hash_found: object,
    best_match: object,
    prepare: object = None,
    many: object = None,
) -> dict[str, float]:
    """CPU time of the checking side per 12 MP JPEG found image (one core): ``hash_found``
    (decode included) and ``best_match`` against 20 registered images, as a check does (with
    ``best_matches``, all 20 in one call, where the version has it)."""
    found_ms, total_ms = [], []
    for path in paths:
        with Image.open(path) as opened:
            big = ImageOps.exif_transpose(opened).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
        data = _jpeg(big, 90)
        started = time.process_time()
        found = list(hash_found(data).hashes)  # type: ignore[operator]
        middle = time.process_time()
        # A check prepares the found medium once (matcher.prepare_found) where the version has it.
        prepared = prepare(found) if prepare is not None else found  # type: ignore[operator]
        if many is not None:
            many(registered, prepared)  # type: ignore[operator]
        else:
            for reg in registered:
                best_match(reg, prepared)  # type: ignore[operator]
        ended = time.process_time()
        found_ms.append(1000 * (middle - started))
        total_ms.append(1000 * (ended - started))
    return {
        "n": len(paths),
        "found_median_ms": statistics.median(found_ms),
        "total_median_ms": statistics.median(total_ms),
        "total_p95_ms": float(np.percentile(total_ms, 95)),
        "items": len(registered),
    }


# ------------------------------------------------------------------ the table


def render(before: dict, after: dict, n: int, command: str, revision: str, elapsed: float) -> str:  # type: ignore[type-arg]
    rows = []
    families: dict[str, tuple[list[bool], list[bool]]] = {}
    false_before = false_after = 0
    for name, res in after["results"].items():
        old = before["results"][name]
        k_b, k_a = sum(old["own"]), sum(res["own"])
        false_before += old["false_pairs"]
        false_after += res["false_pairs"]
        rows.append(
            f"| {res['family']} | {name} | {100 * k_b / n:.1f}% | **{100 * k_a / n:.1f}%** "
            f"| {old['false_pairs']} | {res['false_pairs']} |"
        )
        b, a = families.setdefault(res["family"], ([], []))
        b.extend(old["own"])
        a.extend(res["own"])
    family_rows = [
        f"| {family} | {100 * sum(b) / len(b):.1f}% | **{100 * sum(a) / len(a):.1f}%** | {len(a)} |"
        for family, (b, a) in families.items()
    ]
    tb, ta = before["timing"], after["timing"]
    pairs = n * (n - 1)
    examples = [e for res in after["results"].values() for e in res["false_examples"]]
    return "\n".join(
        [
            MARK_BEGIN,
            "## Before and after issue 17 (held-out photos, check draw)",
            "",
            "Generated by `bench/robustness_compare.py`; reproduce from the repository root with:",
            "",
            "```",
            f".venv/bin/{command}",
            "```",
            "",
            f"{n} photos of the *confirm* half (never used to choose variants, windows or thresholds), "
            f"every edit family drawn the *check* way (`bench/edits.py`), through `hash_file`, "
            f"`hash_found` and `best_match` only. *Before* = `takedown/hashing` at `{revision}`; "
            f"*after* = this tree. False matches over all {pairs:,} ordered pairs of different photos "
            f"per edit. Run time {elapsed / 60:.1f} min.",
            "",
            "| family | recall before | recall after | copies |",
            "| --- | --- | --- | --- |",
            *family_rows,
            "",
            "| family | edit | recall before | recall after | false matches before | false matches after |",
            "| --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            f"False matches over every edit: before **{false_before}**, after **{false_after}**"
            + (f" (e.g. {'; '.join(examples[:3])})." if examples else "."),
            "",
            "| | before | after |",
            "| --- | --- | --- |",
            f"| checking side per 12 MP JPEG, `hash_found` (median, ms, one core) "
            f"| {tb['found_median_ms']:.0f} | {ta['found_median_ms']:.0f} |",
            "| ... plus matching (`best_match` each, or `best_matches` at once) against "
            f"{ta['items']} registered images (median / p95, ms) "
            f"| {tb['total_median_ms']:.0f} / {tb['total_p95_ms']:.0f} | {ta['total_median_ms']:.0f} / "
            f"{ta['total_p95_ms']:.0f} |",
            f"| hashes per registered image (median) | {before['hashes_per_image']:.0f} "
            f"| {after['hashes_per_image']:.0f} |",
            f"| bundle bytes per image (`dump_bundle`, {n} images) | {before['bundle_bytes_per_image']:,.0f} "
            f"| {after['bundle_bytes_per_image']:,.0f} |",
            "",
            f"Timing: {ta['n']} photos resized to 4000 x 3000 and saved at JPEG quality 90, CPU time of one "
            "process on a shared 2-core machine.",
            MARK_END,
        ]
    )


def write_section(text: str) -> None:
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if MARK_BEGIN in doc and MARK_END in doc:
        head, rest = doc.split(MARK_BEGIN, 1)
        _old, tail = rest.split(MARK_END, 1)
        doc = head + text + tail
    else:
        doc = doc.rstrip("\n") + "\n\n" + text + "\n"
    DOC.write_text(doc, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=40, help="photos of the confirm half")
    parser.add_argument("--before", default="HEAD", help="git revision whose takedown/hashing is 'before'")
    parser.add_argument("--timing-count", type=int, default=10)
    parser.add_argument("--write", action="store_true", help="replace this section of docs/benchmarks/robustness.md")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    paths = held_out_sample(args.limit)
    if args.worker:
        result = run_version(args.worker, paths, args.timing_count)
        args.out.write_text(json.dumps(result), encoding="utf-8")
        return 0
    command = f"python bench/robustness_compare.py --limit {args.limit}" + (
        f" --before {args.before}" if args.before != "HEAD" else ""
    )
    print(f"reproduce: .venv/bin/{command}", file=sys.stderr)
    revision = subprocess.run(
        ["git", "rev-parse", "--short", args.before], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout.strip()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="robustness-before-") as tmp:
        old_code = Path(tmp) / "code"
        old_code.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.before, "takedown/__init__.py", "takedown/hashing"],
            cwd=REPO,
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old_code)], input=archive, check=True)
        outputs = {}
        procs = []
        for label, code in (("before", old_code), ("after", REPO)):
            out = Path(tmp) / f"{label}.json"
            outputs[label] = out
            cmd = [sys.executable, __file__, "--limit", str(args.limit), "--timing-count", str(args.timing_count)]
            procs.append(subprocess.Popen([*cmd, "--worker", str(code), "--out", str(out)], cwd=tmp))
        for proc in procs:
            if proc.wait() != 0:
                print("a worker failed", file=sys.stderr)
                return 1
        before, after = (json.loads(outputs[k].read_text(encoding="utf-8")) for k in ("before", "after"))
    text = render(before, after, len(paths), command, revision, time.time() - started)
    print(text)
    if args.write:
        write_section(text)
        print(f"wrote {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
