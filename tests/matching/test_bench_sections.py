"""bench/pipeline.py writes only its own sections of docs/benchmarks/pipeline.md: bench/pipeline_media.py's
section (and anything else outside the markers) is kept."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pipeline.py"


def pipeline() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the script by its path.
    spec = importlib.util.spec_from_file_location("bench_pipeline", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_section_is_replaced_and_the_others_are_kept() -> None:
    replace = pipeline().replace_section
    text = (
        "# Pipeline benchmark\n\n<!-- pipeline_image:start -->\nold image\n<!-- pipeline_image:end -->\n\n"
        "<!-- pipeline_media:start -->\nmedia figures\n<!-- pipeline_media:end -->\nnote kept\n"
    )
    text = replace(text, "pipeline_image", "new image")
    assert "new image" in text and "old image" not in text
    assert "<!-- pipeline_media:start -->\nmedia figures\n<!-- pipeline_media:end -->\nnote kept\n" in text
    text = replace(text, "pipeline_service", "service figures")
    appended = "<!-- pipeline_service:start -->\nservice figures\n<!-- pipeline_service:end -->\n"
    assert text.endswith("note kept\n\n" + appended)
    assert replace(text, "pipeline_service", "again").count("pipeline_service:start") == 1
    assert "media figures" in replace(text, "pipeline_service", "again")


def test_the_committed_file_has_every_section_once() -> None:
    text = (BENCH.parents[1] / "docs" / "benchmarks" / "pipeline.md").read_text(encoding="utf-8")
    for name in ("pipeline_image", "pipeline_media", "pipeline_service"):
        assert text.count(f"<!-- {name}:start -->") == 1 and text.count(f"<!-- {name}:end -->") == 1
