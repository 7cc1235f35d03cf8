"""Generated clips inside the other products: a scenes spec's `video:` (the scene's frame animated
image-to-video) and a timeline video layer's `generate:` block — offline with the local motion
engine and through the Veo client against the fake on 127.0.0.1. Checked as a user would: the
video's duration and frame count, where a moving square is, the fake's call log (a rerun makes
no call: every clip is a cached step), and the errors before any call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from reelforge.errors import InputError, ReelforgeError, SpecError
from reelforge.ffmpeg.probe import probe
from reelforge.pipelines.render import RenderJob
from reelforge.pipelines.scenes.job import ScenesJob
from reelforge.settings import Settings
from reelforge.spec.scenes import ScenesSpec
from tests.conftest import frame_at
from tests.fakes.veo_api import KEY, FakeVeo, make_clip

FAST = {"resolution": "480p", "quality": "draft", "mode": "speed", "duration": 1.0,
        "transition": {"name": "fade", "duration": 0.3}}


@pytest.fixture(scope="module")
def veo_clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_clip(tmp_path_factory.mktemp("veo") / "veo.mp4", seconds=4.0)


def settings(tmp_path: Path, fake: FakeVeo | None = None) -> Settings:
    extra: dict[str, Any] = {}
    if fake is not None:
        extra = {"gemini_api_key": KEY, "veo_base_url": fake.url, "veo_poll_interval_s": 0.05,
                 "veo_poll_max_interval_s": 0.1, "veo_max_wait_s": 30}
    return Settings(data_dir=tmp_path / "data", **extra)


def scenes(scene_list: list[dict[str, Any]], **fields: Any) -> ScenesSpec:
    return ScenesSpec.model_validate({**FAST, **fields, "scenes": scene_list})


def frames_of(path: Path) -> int:
    info = probe(path)
    assert info.video is not None and info.video.fps
    return round(float(info.duration or 0) * info.video.fps)


def square(path: Path, x: int, size: tuple[int, int] = (1280, 720)) -> Path:
    """A white square (120 px) at column `x` on a dark grey frame."""
    pixels = np.full((size[1], size[0], 3), 40, np.uint8)
    pixels[300:420, x:x + 120] = 255
    Image.fromarray(pixels).save(path)
    return path


def square_x(frame: np.ndarray) -> float:
    """Column of the bright square's centre."""
    bright = frame.mean(axis=2) > 200
    columns = np.nonzero(bright.any(axis=0))[0]
    assert columns.size, "no square in the frame"
    return float(columns.mean())


# --- scenes: video: ----------------------------------------------------------------------------

def test_a_scene_with_video_local_is_animated_and_cached(tmp_path: Path) -> None:
    spec = scenes([{"prompt": "a red mug on a table", "duration": 2, "video": {"provider": "local"}},
                   {"prompt": "a glass bottle"}])
    out = tmp_path / "ad.mp4"
    events: list[Any] = []
    first = ScenesJob(spec, out, settings(tmp_path), on_event=events.append).run()
    clip = first.report["scenes"][0]["clip"]
    assert clip is not None and clip["model"] == "motion-1" and clip["mode"] == "image"
    assert clip["duration"] == pytest.approx(2.0, abs=0.05)  # the shortest length covering the 2 s scene
    assert first.report["scenes"][1]["clip"] is None
    timeline_layers = [c["layers"][0]["type"] for c in first.report["timeline"]["clips"]]
    assert timeline_layers == ["video", "image"]
    # 2 s + 1 s joined by a 0.3 s fade, at the spec's 30 fps
    assert float(probe(out).duration or 0) == pytest.approx(2.7, abs=0.05)
    assert frames_of(out) == pytest.approx(81, abs=1)
    start, later = frame_at(out, 0.1).astype(int), frame_at(out, 1.5).astype(int)
    assert np.abs(start - later).mean() > 1.0  # the clip moves (Ken Burns from the scene's frame)
    assert any(e.type == "step.finished" and e.step == "s01.clip" for e in events)
    # image-to-video from the scene's own frame: the clip opens on it (Ken Burns starts at zoom 1)
    frame = np.asarray(Image.open(first.report["scenes"][0]["frame"]).convert("RGB").resize((1280, 720)), int)
    opening = frame_at(Path(clip["path"]), 0.0).astype(int)
    assert np.abs(opening - frame).mean() < 6

    events.clear()
    again = ScenesJob(spec, tmp_path / "again.mp4", settings(tmp_path), on_event=events.append).run()
    assert any(e.type == "step.cached" and e.step == "s01.clip" for e in events)
    assert not any(e.type == "step.started" for e in events)
    assert again.report["scenes"][0]["clip"]["path"] == clip["path"]


def test_a_scene_with_video_veo_sends_its_frame_and_is_not_paid_twice(tmp_path: Path, veo_clip: bytes) -> None:
    spec = scenes([{"prompt": "a red mug on a table", "duration": 2, "video": {"provider": "veo",
                                                                              "prompt": "steam rises"}},
                   {"prompt": "a glass bottle"}])
    with FakeVeo(veo_clip, generation_s=0.2) as fake:
        result = ScenesJob(spec, tmp_path / "ad.mp4", settings(tmp_path, fake)).run()
        assert len(fake.submissions()) == 1
        body = fake.submissions()[0].body
        assert body["instances"][0]["prompt"] == "steam rises"
        assert body["instances"][0]["image"]["mimeType"] == "image/png"
        assert body["parameters"]["durationSeconds"] == 4  # Veo's shortest that covers 2 s
        assert result.report["totals"]["cost_usd"] == pytest.approx(0.10 * 4)
        clip = result.report["scenes"][0]["clip"]
        assert clip["operation"].endswith("/operations/op0") and clip["has_audio"] is True
        assert float(probe(result.output).duration or 0) == pytest.approx(2.7, abs=0.05)  # trimmed to the scene

        calls = len(fake.calls)
        again = ScenesJob(spec, tmp_path / "again.mp4", settings(tmp_path, fake)).run()
        assert len(fake.calls) == calls  # zero calls: the clip is a cached step
        assert again.report["totals"]["cost_usd"] == 0


@pytest.mark.parametrize(("video", "duration", "field"), [
    ({"provider": "veo", "duration": 5}, None, "scenes[0].video.duration"),
    ({"provider": "veo", "resolution": "1080p", "duration": 4}, None, "scenes[0].video.duration"),
    ({"provider": "local", "duration": 2}, 3, "scenes[0].duration"),
    ({"provider": "veo"}, 9, "scenes[0].duration"),
])
def test_scene_clip_limits_are_refused_before_any_call(tmp_path: Path, veo_clip: bytes, video: dict[str, Any],
                                                      duration: float | None, field: str) -> None:
    scene: dict[str, Any] = {"prompt": "a mug", "video": video}
    if duration is not None:
        scene["duration"] = duration
    with FakeVeo(veo_clip) as fake:
        with pytest.raises(InputError) as err:
            ScenesJob(scenes([scene]), tmp_path / "ad.mp4", settings(tmp_path, fake)).run()
        assert fake.calls == []
    assert err.value.field == field and err.value.hint
    assert not (tmp_path / "ad.mp4").exists()


def test_a_video_scene_needs_a_video_aspect() -> None:
    with pytest.raises(ReelforgeError, match="16:9 or 9:16"):
        from reelforge.pipelines.scenes.load import load_scenes

        load_scenes({**FAST, "aspect": "1:1", "scenes": [{"prompt": "a mug", "video": {}}]})


# --- timelines: generate: ---------------------------------------------------------------------

def timeline(layer: dict[str, Any], **clip: Any) -> dict[str, Any]:
    return {"canvas": {"aspect": "16:9", "resolution": "720p", "fps": 24}, "output": {"quality": "draft"},
            "clips": [{"layers": [{"type": "video", **layer}], **clip}]}


def test_a_generated_morph_moves_the_square_and_is_cached(tmp_path: Path) -> None:
    first, last = square(tmp_path / "a.png", 100), square(tmp_path / "b.png", 500)
    spec = timeline({"generate": {"image": str(first), "last_frame": str(last), "duration": 2}})
    events: list[Any] = []
    out = tmp_path / "morph.mp4"
    result = RenderJob(spec, out, settings=settings(tmp_path), on_event=events.append).run()
    assert result.duration == pytest.approx(2.0, abs=0.05)  # the clip's length: the layer's source
    assert frames_of(out) == 48
    assert square_x(frame_at(out, 0.0)) == pytest.approx(160, abs=12)
    assert square_x(frame_at(out, 1.0)) == pytest.approx(360, abs=40)  # travelled, not cross-faded
    assert square_x(frame_at(out, 1.95)) == pytest.approx(560, abs=12)
    assert any(e.type == "step.finished" and e.step == "clip1" for e in events)

    events.clear()
    RenderJob(spec, tmp_path / "again.mp4", settings=settings(tmp_path), on_event=events.append).run()
    assert any(e.type == "step.cached" and e.step == "clip1" for e in events)


def test_a_generated_veo_clip_renders_and_is_not_paid_twice(tmp_path: Path, veo_clip: bytes) -> None:
    spec = timeline({"generate": {"provider": "veo", "prompt": "waves at dusk", "duration": 4}}, duration=3)
    with FakeVeo(veo_clip, generation_s=0.2) as fake:
        plan = RenderJob(spec, tmp_path / "sea.mp4", settings=settings(tmp_path, fake)).plan()
        assert fake.calls == [] and plan.commands == []
        assert any("would generate" in w for w in plan.warnings) and any("$0.40" in w for w in plan.warnings)

        result = RenderJob(spec, tmp_path / "sea.mp4", settings=settings(tmp_path, fake)).run()
        assert len(fake.submissions()) == 1
        assert fake.submissions()[0].body["parameters"]["durationSeconds"] == 4
        assert result.duration == pytest.approx(3.0, abs=0.05) and frames_of(tmp_path / "sea.mp4") == 72
        info = probe(tmp_path / "sea.mp4")
        assert any(s.kind == "audio" for s in info.streams)  # Veo's audio comes along

        calls = len(fake.calls)
        RenderJob(spec, tmp_path / "sea2.mp4", settings=settings(tmp_path, fake)).run()
        replan = RenderJob(spec, tmp_path / "sea3.mp4", settings=settings(tmp_path, fake)).plan()
        assert len(fake.calls) == calls and replan.commands  # cached: no call, and the dry run shows ffmpeg


def test_generate_blocks_are_checked_and_need_the_render_job(tmp_path: Path, veo_clip: bytes) -> None:
    with pytest.raises(SpecError, match="either a path or a generate"):
        RenderJob(timeline({}), tmp_path / "x.mp4", settings=settings(tmp_path)).run()
    with FakeVeo(veo_clip) as fake:
        with pytest.raises(InputError) as err:
            RenderJob(timeline({"generate": {"provider": "veo", "prompt": "x", "duration": 5}}), tmp_path / "x.mp4",
                      settings=settings(tmp_path, fake)).run()
        assert fake.calls == []
    assert err.value.field == "clips[0].layers[0].generate.duration"
    from reelforge.render.api import render

    with pytest.raises(SpecError, match="reelforge render"):
        render(timeline({"generate": {"prompt": "a card"}}), tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_a_veo_clip_without_a_key_is_refused_before_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reelforge.errors import ProviderUnavailable

    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)
    bare = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    spec = scenes([{"prompt": "a mug", "duration": 2, "video": {"provider": "veo"}}])
    with pytest.raises(ProviderUnavailable, match=r"scenes\[0\]\.video\.provider.*GEMINI_API_KEY"):
        ScenesJob(spec, tmp_path / "ad.mp4", bare).run()
    with pytest.raises(ProviderUnavailable, match=r"clips\[0\]\.layers\[0\]\.generate\.provider"):
        RenderJob(timeline({"generate": {"provider": "veo", "prompt": "x", "duration": 4}}), tmp_path / "x.mp4",
                  settings=bare).run()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no video, no report, no image generated
    assert not list((tmp_path / "data").rglob("objects/*/*"))
