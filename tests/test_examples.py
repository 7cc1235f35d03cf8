"""Every spec in examples/ renders (draft preset) to the length its plan says."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.ffmpeg.probe import probe
from reelforge.render.api import render

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 8 and any(p.name == "demo.yaml" for p in EXAMPLES)


@pytest.mark.parametrize("spec", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_renders(spec: Path, tmp_path: Path) -> None:
    suffix = ".webm" if "webm" in spec.stem else ".mp4"
    out = tmp_path / f"{spec.stem}{suffix}"
    result = render(spec, out, quality="draft")
    info = probe(out, count_frames=True)
    assert info.frames == result.frames
    assert info.duration == pytest.approx(result.duration, abs=0.05)
    assert info.video is not None and info.video.width and info.video.width >= 480
