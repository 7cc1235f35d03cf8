"""Long timelines render in segments joined by stream copy: same frames, flat memory."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from reelforge.ffmpeg.probe import probe
from reelforge.render import model as m
from reelforge.render.api import render
from reelforge.render.segments import plan_segments
from reelforge.settings import get_settings

from .conftest import audio_samples, canvas


def _plan(transitions: list[int], frames: int = 36) -> m.RenderPlan:
    clips = tuple(m.ClipPlan(frames, (), "fade" if t else None, t) for t in transitions)
    return m.RenderPlan(320, 180, Fraction(24), "black", clips)


@pytest.mark.parametrize("max_clips", [1, 2, 3, 4, 7])
def test_segments_cover_every_frame_once_and_never_cut_a_transition(max_clips: int) -> None:
    plan = _plan([12, 0, 12, 12, 6, 0, 12, 12, 12, 12, 12, 0])
    segments = plan_segments(plan, max_clips)
    assert sum(s.frames for s in segments) == plan.total_frames
    starts = plan.clip_starts()
    cut = 0
    for seg in segments:
        first = plan.clips[seg.first]
        incoming = plan.clips[seg.first - 1].transition_frames if seg.first else 0
        assert seg.skip == incoming
        assert cut == starts[seg.first] + incoming  # the segment starts where its first clip is alone
        assert seg.last - seg.first <= max_clips + 1
        assert incoming + first.transition_frames < first.frames or seg.first == 0
        cut += seg.frames


def test_the_last_segment_is_not_a_stub() -> None:
    segments = plan_segments(_plan([12] * 10), 4)  # 10 clips: three even segments, no 1-clip stub
    assert [(s.first, s.last) for s in segments] == [(0, 3), (3, 6), (6, 9)]
    assert [(s.first, s.last) for s in plan_segments(_plan([12] * 5), 4)] == [(0, 4)]


def test_short_timelines_are_one_run() -> None:
    assert len(plan_segments(_plan([12, 12, 0]), 4)) == 1
    assert len(plan_segments(_plan([12] * 20), 0)) == 1


def test_clips_shorter_than_their_transitions_are_never_cut_points() -> None:
    plan = _plan([12] * 10, frames=20)  # 12 in + 12 out > 20: no clip is ever alone on screen
    assert len(plan_segments(plan, 2)) == 1


@pytest.fixture()
def segment_clips(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def set_to(value: int) -> None:
        monkeypatch.setenv("REELFORGE_SEGMENT_CLIPS", str(value))
        get_settings.cache_clear()

    yield set_to
    get_settings.cache_clear()


def _frames(path: Path, ffmpeg: str) -> np.ndarray:
    raw = subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, 180, 320, 3).astype(np.int16)


def test_segmented_render_matches_the_single_run(tmp_path: Path, segment_clips, tone_video: Path,  # type: ignore[no-untyped-def]
                                                 music_file: Path, ffmpeg: str) -> None:
    colors = ["red", "lime", "blue", "yellow", "magenta", "cyan", "white", "orange", "purple"]
    clips: list[dict] = []
    for i, color in enumerate(colors):
        layers = [{"type": "color", "color": color}, {"type": "text", "text": f"clip {i}", "size": 0.2}]
        if i == 4:
            layers.append({"type": "video", "path": str(tone_video), "fit": "contain", "width": 0.5, "height": 0.5})
        clip = {"duration": 1.5, "layers": layers}
        if i != 2:
            clip["transition"] = {"name": "wipeleft" if i % 2 else "fade", "duration": 0.5}
        clips.append(clip)
    spec = {"canvas": canvas(), "output": {"quality": "high"}, "clips": clips,
            "audio": {"music": {"path": str(music_file), "volume": 0.3}}}
    segment_clips(0)
    single = render(spec, tmp_path / "single.mp4")
    segment_clips(2)
    parts = render(spec, tmp_path / "parts.mp4")
    assert len(single.commands) == 1 and len(parts.commands) >= 4
    a, b = _frames(tmp_path / "single.mp4", ffmpeg), _frames(tmp_path / "parts.mp4", ffmpeg)
    assert a.shape == b.shape and len(a) == single.frames
    assert np.abs(a - b).mean(axis=(1, 2, 3)).max() < 1.5  # only encoder noise differs
    assert probe(tmp_path / "parts.mp4").duration == pytest.approx(single.duration, abs=0.05)
    sa, sb = audio_samples(tmp_path / "single.mp4"), audio_samples(tmp_path / "parts.mp4")
    assert abs(len(sa) - len(sb)) < 80 and np.abs(sa[:len(sb)] - sb[:len(sa)]).mean() < 0.01


@pytest.mark.parametrize("fmt", ["mp4", "mp4-h265", "webm", "webm-alpha", "mov-prores", "gif"])
def test_every_output_format_renders_in_segments(tmp_path: Path, segment_clips, fmt: str) -> None:  # type: ignore[no-untyped-def]
    """mp4-h265 failed on any timeline of 3+ clips: segments went to NUT with `-tag:v hvc1`."""
    from reelforge.render.encode import EXTENSIONS

    segment_clips(1)
    colors = ["#ff0000", "#00ff00", "#0000ff", "#ffffff"]
    spec = {"canvas": canvas(fps=10), "output": {"quality": "draft", "format": fmt},
            "clips": [{"duration": 0.5, "layers": [{"type": "color", "color": c}]} for c in colors]}
    out = tmp_path / f"out{EXTENSIONS[fmt]}"
    render(spec, out)
    info = probe(out, count_frames=True)
    assert info.video is not None and (info.video.width, info.video.height) == (320, 180)
    assert info.frames == 20
    if fmt == "mp4-h265":  # Apple players need the hvc1 sample entry, set when joining
        assert b"hvc1" in out.read_bytes()[-4096:] + out.read_bytes()[:4096]
