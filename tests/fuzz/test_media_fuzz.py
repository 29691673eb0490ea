"""Short CI run of the decode fuzzer (bench/fuzz_media.py): mutated photos and videos never crash,
hang or outgrow the address-space cap of the hashing worker; truncated images are never decoded.

Deterministic (fixed seed, fixed seed files), so it cannot flake on a new draw. The time limit
is a hang detector, not a speed check: 30 s per input against decodes that take < 0.5 s here.
The long mode is `.venv/bin/python bench/fuzz_media.py` (4,000 inputs over all seed files).
"""

from __future__ import annotations

import os
import struct
import sys
import zlib
from pathlib import Path

from tests.fuzz.conftest import TRIED

# The bench scripts are top-level modules (as mypy and `python bench/x.py` see them), not a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from fuzz_media import DATA, DEFAULT_CAP_BYTES, OUTCOMES, Worker, run


def test_mutated_media_give_only_clean_outcomes() -> None:
    report = run(inputs=int(os.environ.get("TAKEDOWN_FUZZ_MEDIA_INPUTS", "200")), ci=True)
    TRIED["media: mutated files hashed in a capped worker"] += report.inputs
    totals = report.totals()
    assert report.failures == [], "\n".join(report.failures)
    assert totals["timeout"] == 0 and totals["crash"] == 0
    assert report.truncated_images_decoded == 0
    # The run exercised both sides: some mutants still decode, others are refused cleanly.
    assert totals["decoded"] > 0 and totals["clean error"] > 0
    assert sum(totals[o] for o in OUTCOMES) == report.inputs
    assert report.worker_starts == 1  # never restarted: no crash, no timeout
    assert report.peak_rss_kib * 1024 < report.cap_bytes


def _tall_png(tmp_path: Path) -> Path:
    """A real photo whose PNG header claims 65,535 rows (50 megapixels, under MAX_PIXELS): decoding
    it allocates about 500 MB more than the worker holds after its imports."""
    data = bytearray((DATA / "photos" / "kodak" / "kodim07.png").read_bytes())
    assert data[12:16] == b"IHDR"
    data[20:24] = struct.pack(">I", 65535)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path = tmp_path / "tall.png"
    path.write_bytes(bytes(data))
    return path


def _vm_size_kib(worker: Worker) -> int:
    assert worker.process is not None
    status = Path(f"/proc/{worker.process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmSize:")).split()[1])


def test_the_address_space_cap_turns_a_memory_blowup_into_a_clean_error(tmp_path: Path) -> None:
    tall = _tall_png(tmp_path)
    roomy = Worker(DEFAULT_CAP_BYTES, register_variants=False)
    try:
        assert roomy.run(str(tall), 120)["outcome"] == "decoded"  # with room, it decodes
        imports = _vm_size_kib(roomy) * 1024
    finally:
        roomy.kill()
    tight = Worker(imports + 200 * 1024**2, register_variants=False)  # 200 MB above the imports
    try:
        result = tight.run(str(tall), 120)
        assert result == {"outcome": "clean error", "error": "ImageTooLargeError"}
        assert tight.run(str(DATA / "pdq-reference" / "misc-images" / "small.jpg"), 120)["outcome"] == "decoded"
        assert tight.started == 1  # the same worker carries on
    finally:
        tight.kill()
