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


OVERLAY_SPECS = sorted((Path(__file__).resolve().parents[1] / "examples" / "overlays").glob("*.yaml"))


@pytest.mark.parametrize("spec", OVERLAY_SPECS, ids=[p.stem for p in OVERLAY_SPECS])
def test_overlay_example_runs(spec: Path, tmp_path: Path) -> None:
    from .conftest import cli
    from .test_overlay import packet_md5

    clip = spec.parents[1] / "media" / "clip.mp4"
    result = cli("overlay", str(clip), "--spec", str(spec), "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "clip.mp4"
    before, after = probe(clip, count_frames=True), probe(out, count_frames=True)
    assert after.frames == before.frames and packet_md5(out) == packet_md5(clip)
