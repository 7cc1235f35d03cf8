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


SCENE_SPECS = sorted((Path(__file__).resolve().parents[1] / "examples" / "scenes").glob("*.*"))


@pytest.mark.parametrize("spec", SCENE_SPECS, ids=[p.name for p in SCENE_SPECS])
def test_scenes_example_runs(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from .conftest import cli

    monkeypatch.setenv("REELFORGE_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "scenes.mp4"
    result = cli("scenes", str(spec), "-o", str(out), "--resolution", "480p", "--mode",
                 "speed" if spec.suffix == ".txt" else "balanced")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "scenes.report.json").read_text())
    assert all(s["state"] == "generated" for s in report["scenes"])
    assert probe(out).duration and (tmp_path / "scenes.contact.png").is_file()
