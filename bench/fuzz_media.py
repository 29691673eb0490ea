"""Decode fuzzing: mutated photos and videos through the hashing library, in a capped subprocess.

Every file a survivor hashes and every medium a check downloads goes through
`takedown.hashing.media.hash_file`, which must answer a `HashingError` for anything it cannot use:
never crash the worker, hang it, or let a crafted header allocate without bound. This runner
takes real files from ../shared/data (photos, pdq-reference, videos), mutates them (byte flips,
truncation, chunk splices from the same or another file, header field changes such as PNG/JPEG
dimensions and MP4 box sizes, inserted and deleted runs) and hashes each mutant in a worker
process that runs with an address-space cap (RLIMIT_AS) and is killed past a time limit.

The worker imports WeasyPrint first, as the production workers do: WeasyPrint sets Pillow's
LOAD_TRUNCATED_IMAGES globally, and `hashing.image.strict_decoding` must keep truncated images
refused anyway (the `truncation` rows show it).

Outcomes: decoded (hashes produced), clean error (a HashingError subclass), timeout (killed at the
time limit), crash (the worker died from a signal, or raised anything that is not a HashingError,
MemoryError included).

    .venv/bin/python bench/fuzz_media.py                     # long mode: all seeds, 4,000 inputs
    .venv/bin/python bench/fuzz_media.py --inputs 300 --ci   # what the CI test runs (few small seeds)
    .venv/bin/python bench/fuzz_media.py --write             # also write docs/benchmarks/fuzz-media.md

Nothing is downloaded; the shared files are read in place and mutants live in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
DOC = ROOT / "docs" / "benchmarks" / "fuzz-media.md"
SEED = 20261126
DEFAULT_CAP_BYTES = 2 * 1024**3  # the worker's address space, imports (~0.8 GB virtual) included
DEFAULT_TIME_LIMIT = (
    30.0  # CPU seconds per input: 5x the costliest decode seen (a 50-megapixel PNG), so only a hang hits it
)

#: Small seeds for the CI run: one of each container the service meets, all decoded in < 0.3 s.
CI_SEEDS = (
    "pdq-reference/misc-images/small.jpg",
    "pdq-reference/misc-images/wee.jpg",
    "pdq-reference/bridge-mods/square-128x128.jpg",
    "pdq-reference/misc-images/modes/I.webp",
    "pdq-reference/misc-images/modes/1.png",
    "videos/cc0_mdn/stream-of-water.mp4",
    "videos/cc0_mdn/stream-of-water.webm",
)

OUTCOMES = ("decoded", "clean error", "timeout", "crash")
_MEDIA_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".mp4", ".webm", ".mov"}


# ------------------------------------------------------------------ seeds and mutations


def seed_files(*, ci: bool) -> list[Path]:
    if ci:
        return [DATA / name for name in CI_SEEDS]
    files = [
        path
        for folder in ("pdq-reference", "videos", "photos/kodak", "photos/skimage")
        for path in sorted((DATA / folder).rglob("*"))
        if path.suffix.lower() in _MEDIA_SUFFIXES and path.stat().st_size <= 4 * 1024 * 1024
    ]
    return files


def _flip_bytes(data: bytes, rng: random.Random, _other: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice([1, 2, 4, 16, 64])):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _random_bytes(data: bytes, rng: random.Random, _other: bytes) -> bytes:
    out = bytearray(data)
    start = rng.randrange(len(out))
    for i in range(start, min(len(out), start + rng.choice([1, 4, 32, 256]))):
        out[i] = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
    return bytes(out)


def _truncate(data: bytes, rng: random.Random, _other: bytes) -> bytes:
    return data[: rng.choice([rng.randrange(1, 64), rng.randrange(len(data)), int(len(data) * rng.uniform(0.5, 0.99))])]


def _splice(data: bytes, rng: random.Random, other: bytes) -> bytes:
    source = other if rng.random() < 0.5 else data
    length = rng.choice([16, 256, 4096, len(source) // 4 or 1])
    start = rng.randrange(max(1, len(source) - length))
    chunk = source[start : start + length]
    at = rng.randrange(len(data))
    if rng.random() < 0.5:
        return data[:at] + chunk + data[at + len(chunk) :]  # overwrite
    return data[:at] + chunk + data[at:]  # insert


def _delete_run(data: bytes, rng: random.Random, _other: bytes) -> bytes:
    at = rng.randrange(len(data))
    return data[:at] + data[at + rng.choice([1, 7, 100, 5000]) :]


def _duplicate_run(data: bytes, rng: random.Random, _other: bytes) -> bytes:
    at = rng.randrange(len(data))
    run = data[at : at + rng.choice([8, 512, 65536])]
    return data[:at] + run * rng.choice([2, 10, 100]) + data[at:]


_HEADER_VALUES = (0, 1, 2, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF)


def _png_dimensions(data: bytes, rng: random.Random) -> bytes | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    if rng.random() < 0.5:
        width = rng.choice(_HEADER_VALUES)
    else:
        height = rng.choice(_HEADER_VALUES)
    ihdr = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    if rng.random() < 0.3:  # bit depth / colour type / interlace
        ihdr = ihdr[:12] + bytes([rng.choice([0, 1, 2, 3, 4, 6, 8, 16, 255])]) + ihdr[13:]
    crc = struct.pack(">I", zlib.crc32(ihdr) & 0xFFFFFFFF)  # a valid CRC gets past the chunk check
    return data[:12] + ihdr + crc + data[33:]


def _jpeg_dimensions(data: bytes, rng: random.Random) -> bytes | None:
    for marker in (b"\xff\xc0", b"\xff\xc2", b"\xff\xc1"):
        at = data.find(marker)
        if at != -1 and at + 9 <= len(data):
            out = bytearray(data)
            field_at = at + rng.choice([5, 7, 9])  # height, width, component count
            value = rng.choice(_HEADER_VALUES) & (0xFF if field_at == at + 9 else 0xFFFF)
            if field_at == at + 9:
                out[field_at] = value
            else:
                out[field_at : field_at + 2] = struct.pack(">H", value)
            return bytes(out)
    return None


def _mp4_box_field(data: bytes, rng: random.Random) -> bytes | None:
    boxes = [data.find(name) for name in (b"moov", b"mvhd", b"tkhd", b"mdhd", b"stsz", b"stco", b"stts", b"avcC")]
    boxes = [at for at in boxes if at >= 4]
    if not boxes:
        return None
    at = rng.choice(boxes)
    out = bytearray(data)
    # The box size (4 bytes before the name) or one of the 32-bit fields after it.
    offset = at - 4 if rng.random() < 0.4 else at + 4 + 4 * rng.randrange(8)
    if offset + 4 > len(out):
        return None
    out[offset : offset + 4] = struct.pack(">I", rng.choice(_HEADER_VALUES))
    return bytes(out)


def _header_field(data: bytes, rng: random.Random, _other: bytes) -> bytes:
    for change in (_png_dimensions, _jpeg_dimensions, _mp4_box_field):
        changed = change(data, rng)
        if changed is not None:
            return changed
    out = bytearray(data)  # other containers: overwrite a field in the first 64 bytes
    at = rng.randrange(min(60, len(out) - 4))
    out[at : at + 4] = struct.pack(">I", rng.choice(_HEADER_VALUES))
    return bytes(out)


MUTATIONS: dict[str, Callable[[bytes, random.Random, bytes], bytes]] = {
    "byte flips": _flip_bytes,
    "random bytes": _random_bytes,
    "truncation": _truncate,
    "chunk splice": _splice,
    "deleted run": _delete_run,
    "repeated run": _duplicate_run,
    "header field": _header_field,
}


@dataclass(frozen=True)
class Mutant:
    seed: Path
    mutation: str
    data: bytes
    stacked: bool = False  # a second mutation was applied on top


def mutants(seeds: list[Path], count: int, rng: random.Random) -> Iterator[Mutant]:
    contents = {path: path.read_bytes() for path in seeds}
    names = list(MUTATIONS)
    for i in range(count):
        seed = seeds[i % len(seeds)]
        other = contents[rng.choice(seeds)]
        mutation = names[(i // len(seeds)) % len(names)] if i < len(seeds) * len(names) else rng.choice(names)
        data = MUTATIONS[mutation](contents[seed], rng, other)
        stacked = rng.random() < 0.2  # sometimes stack a second mutation
        if stacked:
            data = MUTATIONS[rng.choice(names)](data or b"\x00", rng, other)
        yield Mutant(seed, mutation, data or b"\x00", stacked)


# ------------------------------------------------------------------ the capped worker process


def worker_main(cap_bytes: int, register_variants: bool) -> None:
    """Runs in the child: cap the address space, import like a real worker, hash paths from stdin."""
    resource.setrlimit(resource.RLIMIT_AS, (cap_bytes, cap_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # WeasyPrint sets PIL.ImageFile.LOAD_TRUNCATED_IMAGES when imported, as in the real workers.
    import weasyprint  # type: ignore[import-untyped]  # noqa: F401
    from PIL import ImageFile

    from takedown.hashing.errors import HashingError
    from takedown.hashing.media import hash_file

    assert ImageFile.LOAD_TRUNCATED_IMAGES, "WeasyPrint no longer sets LOAD_TRUNCATED_IMAGES; review this fuzzer"
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        path = line.rstrip("\n")
        try:
            media = hash_file(path, register_variants=register_variants)
            result = {"outcome": "decoded", "kind": media.kind, "hashes": len(media.hashes)}
        except HashingError as exc:
            result = {"outcome": "clean error", "error": type(exc).__name__}
        except BaseException as exc:  # noqa: BLE001 - exactly what the fuzzer looks for
            result = {"outcome": "crash", "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        out.write(json.dumps(result) + "\n")
        out.flush()


class Worker:
    """One capped child process; restarted after a crash or a timeout."""

    def __init__(self, cap_bytes: int, register_variants: bool) -> None:
        self.cap_bytes = cap_bytes
        self.register_variants = register_variants
        self.process: subprocess.Popen[str] | None = None
        self.started = 0
        self.last_cpu = 0.0

    def _start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(self.cap_bytes)]
            + ([] if self.register_variants else ["--no-variants"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            process.kill()
            raise RuntimeError(f"the fuzz worker did not start (exit {process.wait()})")
        self.started += 1
        return process

    def peak_rss_kib(self) -> int:
        if self.process is None:
            return 0
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the worker has used so far, from /proc."""
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self, path: str, time_limit: float) -> dict[str, str]:
        """Hash one file. The limit is on the CPU time the input costs, so a machine busy with other
        work does not turn a slow decode into a "timeout"; the wall clock still stops a worker that
        sleeps or spins without being scheduled, at ten times the limit."""
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        cpu_before, started = self.cpu_seconds(), time.monotonic()
        process.stdin.write(path + "\n")
        process.stdin.flush()
        while True:
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            if ready:
                break
            if self.cpu_seconds() - cpu_before > time_limit or time.monotonic() - started > 10 * time_limit:
                self.kill()
                return {"outcome": "timeout"}
        self.last_cpu = self.cpu_seconds() - cpu_before
        line = process.stdout.readline()
        if not line:
            code = process.wait()
            self.process = None
            name = signal.Signals(-code).name if code < 0 else f"exit {code}"
            return {"outcome": "crash", "error": name}
        result: dict[str, str] = json.loads(line)
        return result

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


# ------------------------------------------------------------------ the run and its table


@dataclass
class Report:
    inputs: int = 0
    seconds: float = 0.0
    by_mutation: dict[str, Counter[str]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # timeouts and crashes, with the seed and mutation
    peak_rss_kib: int = 0
    max_cpu_seconds: float = 0.0  # the most CPU time one input cost
    max_cpu_input: str = ""
    worker_starts: int = 0
    cap_bytes: int = 0
    time_limit: float = 0.0
    seeds: int = 0
    #: Still images that decoded although only truncated (no second mutation): must stay 0 unless
    #: the cut removed only bytes after the image data (strict_decoding vs WeasyPrint's flag).
    truncated_images_decoded: int = 0
    truncation_notes: list[str] = field(default_factory=list)

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.by_mutation.values():
            total.update(counts)
        return total

    def table(self) -> str:
        rows = ["| mutation | inputs | " + " | ".join(OUTCOMES) + " |", "| --- " * (2 + len(OUTCOMES)) + "|"]
        for name, counts in sorted(self.by_mutation.items()):
            cells = " | ".join(f"{counts[o]:,}" for o in OUTCOMES)
            rows.append(f"| {name} | {sum(counts.values()):,} | {cells} |")
        total = self.totals()
        rows.append(f"| **all** | **{self.inputs:,}** | " + " | ".join(f"**{total[o]:,}**" for o in OUTCOMES) + " |")
        return "\n".join(rows)


def run(
    *,
    inputs: int,
    ci: bool,
    seed: int = SEED,
    cap_bytes: int = DEFAULT_CAP_BYTES,
    time_limit: float = DEFAULT_TIME_LIMIT,
    register_variants: bool = False,
    progress: bool = False,
) -> Report:
    rng = random.Random(seed)
    seeds = seed_files(ci=ci)
    report = Report(cap_bytes=cap_bytes, time_limit=time_limit, seeds=len(seeds))
    worker = Worker(cap_bytes, register_variants)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="fuzz-media-") as folder:
            target = Path(folder) / "input"
            for mutant in mutants(seeds, inputs, rng):
                target.write_bytes(mutant.data)
                result = worker.run(str(target), time_limit)
                report.inputs += 1
                report.by_mutation.setdefault(mutant.mutation, Counter())[result["outcome"]] += 1
                if mutant.mutation == "truncation" and not mutant.stacked and result.get("kind") == "image":
                    report.truncated_images_decoded += 1
                    tail = mutant.seed.read_bytes()[len(mutant.data) :][:16]
                    report.truncation_notes.append(
                        f"{mutant.seed.relative_to(DATA)} cut to {len(mutant.data):,} of "
                        f"{mutant.seed.stat().st_size:,} bytes (cut off: {tail!r})"
                    )
                if result.get("error"):
                    report.errors[result["error"]] += 1
                if result["outcome"] in {"timeout", "crash"}:
                    keep = Path(folder).parent / f"fuzz-media-failure-{report.inputs}{mutant.seed.suffix}"
                    keep.write_bytes(mutant.data)
                    report.failures.append(
                        f"{result['outcome']} ({result.get('error', '')}) on {mutant.mutation} of "
                        f"{mutant.seed.relative_to(DATA)}; input kept at {keep}"
                    )
                report.peak_rss_kib = max(report.peak_rss_kib, worker.peak_rss_kib())
                if result["outcome"] != "timeout" and worker.last_cpu > report.max_cpu_seconds:
                    report.max_cpu_seconds = worker.last_cpu
                    report.max_cpu_input = (
                        f"{mutant.mutation} of {mutant.seed.relative_to(DATA)} ({len(mutant.data):,} bytes)"
                    )
                if progress and report.inputs % 250 == 0:
                    print(f"  {report.inputs:,} inputs, {time.monotonic() - started:.0f} s", file=sys.stderr)
    finally:
        report.worker_starts = worker.started
        worker.kill()
    report.seconds = time.monotonic() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=4000)
    parser.add_argument("--ci", action="store_true", help="the few small CI seeds only")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cap-mb", type=int, default=DEFAULT_CAP_BYTES // 1024**2)
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT)
    parser.add_argument("--variants", action="store_true", help="also compute the registered variants")
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-variants", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker, register_variants=not args.no_variants)
        return
    command = "  ".join(["    .venv/bin/python bench/fuzz_media.py", *sys.argv[1:]])
    report = run(
        inputs=args.inputs,
        ci=args.ci,
        seed=args.seed,
        cap_bytes=args.cap_mb * 1024**2,
        time_limit=args.time_limit,
        register_variants=args.variants,
        progress=True,
    )
    errors = ", ".join(f"{name} {count:,}" for name, count in report.errors.most_common())
    text = "\n".join(
        [
            f"{report.inputs:,} mutated inputs from {report.seeds} seed files in {report.seconds:.0f} s; "
            f"address-space cap {report.cap_bytes // 1024**2:,} MiB, time limit {report.time_limit:g} CPU s per input, "
            f"peak worker RSS {report.peak_rss_kib / 1024:,.0f} MiB, worker started {report.worker_starts} time(s); "
            f"costliest input {report.max_cpu_seconds:.1f} CPU s ({report.max_cpu_input}).",
            "",
            report.table(),
            "",
            f"Errors by type: {errors or 'none'}. Truncated still images decoded: "
            f"{report.truncated_images_decoded} (truncated videos decode the frames that remain, by design).",
            *(f"- {failure}" for failure in report.failures),
            *(f"- truncated image decoded: {note}" for note in report.truncation_notes),
            "",
            "Reproduce:",
            "",
            command.replace("  ", " "),
        ]
    )
    print(text)
    if args.write:
        DOC.write_text(
            "# Decode fuzzing of the hashing library\n\nProduced by `bench/fuzz_media.py` (see its docstring).\n\n"
            + text
            + "\n",
            encoding="utf-8",
        )
    if report.failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
