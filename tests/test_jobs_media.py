"""The media jobs (render, overlay, text) on the job model: runtime events in order with one run
id, cancellation that kills ffmpeg at once and leaves no file behind, several jobs awaited on
one event loop, and batches that go on past a bad item."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path

import pytest

from reelforge.pipelines.job import CancelToken, JobCancelled
from reelforge.pipelines.render import RenderJob
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.events import Event

from .conftest import canvas, draft


def ffmpeg_children() -> list[int]:
    """ffmpeg processes that are children of this process (alive or not yet reaped)."""
    found = []
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                name = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if "ffmpeg" in name:
                found.append(int(pid))
    return found


def long_timeline(seconds: float = 60.0) -> dict:
    """A minute of 720p with a moving gradient: long enough that cancelling lands mid-encode."""
    return {"canvas": canvas(1280, 720, fps=30), "output": {"quality": "standard"},
            "clips": [{"duration": seconds, "layers": [
                {"type": "linear-gradient", "colors": ["#ff0000", "#0000ff"]},
                {"type": "text", "text": "cancel me"}]}]}


def short_timeline(seconds: float = 2.0, color: str = "red") -> dict:
    return {"canvas": canvas(fps=24), "output": draft(),
            "clips": [{"duration": seconds, "layers": [{"type": "color", "color": color}]}]}


@pytest.fixture
def context(tmp_path: Path):  # type: ignore[no-untyped-def]
    ctx = RuntimeContext.from_settings(records=False)
    yield ctx
    ctx.close_sync()


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tempfile's folder for this test only, to see what a render leaves behind there."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _cancel_after_first_progress(job: RenderJob, context: RuntimeContext) -> tuple[list[Event], float]:
    token = CancelToken()
    events: list[Event] = []
    progressed = threading.Event()

    def sink(event: Event) -> None:
        events.append(event)
        if event.type == "step.progress":
            progressed.set()

    cancelled_at: list[float] = []

    def canceller() -> None:
        progressed.wait(120)
        cancelled_at.append(time.monotonic())
        token.cancel("cancelled by the test")

    thread = threading.Thread(target=canceller)
    thread.start()
    try:
        with pytest.raises(JobCancelled):
            asyncio.run(job.arun(context, sink, token))
    finally:
        ended = time.monotonic()
        progressed.set()
        thread.join()
    return events, ended - cancelled_at[0]


def test_cancelling_a_render_kills_ffmpeg_and_leaves_nothing(tmp_path: Path, context: RuntimeContext,
                                                              private_tmp: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    job = RenderJob(long_timeline(), out_dir / "long.mp4")
    events, took = _cancel_after_first_progress(job, context)
    assert took < 2.0
    assert ffmpeg_children() == []
    assert list(out_dir.iterdir()) == []  # no output, no .part file
    assert list(private_tmp.iterdir()) == []  # no work folder
    assert events[-1].type == "run.finished" and events[-1].data["state"] == "cancelled"
    assert {e.run_id for e in events} == {events[0].run_id}


def test_cancelling_a_segmented_render_removes_its_segments(tmp_path: Path, context: RuntimeContext,
                                                            private_tmp: Path) -> None:
    clips = [{"duration": 6.0, "layers": [{"type": "linear-gradient", "colors": [c, "#000000"]}]}
             for c in ("#ff0000", "#00ff00", "#0000ff", "#ffff00", "#00ffff", "#ff00ff")]
    spec = {"canvas": canvas(1280, 720, fps=30), "output": {"quality": "standard"}, "clips": clips}
    settings = context.settings.model_copy(update={"segment_clips": 1})
    out_dir = tmp_path / "out"
    job = RenderJob(spec, out_dir / "parts.mp4", settings=settings)
    plan = asyncio.run(job.aplan(context))
    assert len(plan.commands) > 2  # segments, then the join

    token = CancelToken()
    events: list[Event] = []

    def sink(event: Event) -> None:  # cancel during the second segment
        events.append(event)
        if event.type == "step.progress" and event.step == "segment-002":
            token.cancel()

    with pytest.raises(JobCancelled):
        asyncio.run(job.arun(context, sink, token))
    assert "step.finished" in [e.type for e in events if e.step == "segment-001"]
    assert ffmpeg_children() == []
    assert list(out_dir.iterdir()) == []
    assert list(private_tmp.iterdir()) == []


def test_a_render_reports_one_run_of_ordered_events(tmp_path: Path, context: RuntimeContext) -> None:
    events: list[Event] = []
    result = asyncio.run(RenderJob(short_timeline(3.0), tmp_path / "e.mp4").arun(context, events.append))
    assert result.output == tmp_path / "e.mp4" and result.output.is_file()
    types = [e.type for e in events]
    assert types[0] == "run.started" and types[-1] == "run.finished"
    assert events[0].data["steps"] == 1 and events[0].data["duration"] == pytest.approx(3.0)
    assert types[1] == "step.started" and types[-2] == "step.finished"
    fractions = [e.data["fraction"] for e in events if e.type == "step.progress"]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(e.data["message"] for e in events if e.type == "step.progress")
    assert events[-1].data["state"] == "succeeded" and events[-1].data["summary"]["frames"] == 72
    assert {e.run_id for e in events} == {events[0].run_id}


def test_a_render_plan_runs_nothing(tmp_path: Path, context: RuntimeContext) -> None:
    plan = asyncio.run(RenderJob(short_timeline(), tmp_path / "p.mp4").aplan(context))
    assert plan.output is None and plan.duration == pytest.approx(2.0) and len(plan.commands) == 1
    assert not (tmp_path / "p.mp4").exists()


def test_two_renders_awaited_together_on_one_context(tmp_path: Path, context: RuntimeContext) -> None:
    async def main() -> list:
        jobs = [RenderJob(short_timeline(2.0, "red"), tmp_path / "a.mp4"),
                RenderJob(short_timeline(1.0, "blue"), tmp_path / "b.mp4")]
        return await asyncio.gather(*(job.arun(context) for job in jobs))

    seen: list[Event] = []
    context.subscribe(seen.append)
    a, b = asyncio.run(main())
    assert a.duration == pytest.approx(2.0) and b.duration == pytest.approx(1.0)
    assert a.output.is_file() and b.output.is_file()
    assert len({e.run_id for e in seen}) == 2  # the context's bus saw both runs


def test_the_sync_render_works_inside_a_running_loop(tmp_path: Path) -> None:
    from reelforge.render.api import render

    async def main() -> object:
        return render(short_timeline(1.0), tmp_path / "s.mp4")

    result = asyncio.run(main())
    assert result.output.is_file()  # type: ignore[attr-defined]


# --- overlay ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def overlay_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .conftest import run_ffmpeg

    folder = tmp_path_factory.mktemp("overlay-jobs")
    for name, color in (("a", "red"), ("b", "blue")):
        run_ffmpeg("-f", "lavfi", "-i", f"color=c={color}:s=160x120:r=25:d=1", "-c:v", "libx264",
                   "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(folder / f"{name}.mp4"))
    (folder / "broken.mp4").write_bytes(b"this is not a video")
    return folder


def overlay_spec():  # type: ignore[no-untyped-def]
    from reelforge.spec.overlay import OverlayJob

    return OverlayJob.model_validate({"overlays": [{"text": "HI", "position": "center"}]})


def test_an_overlay_batch_reports_each_video_and_goes_on_past_a_bad_one(tmp_path: Path, overlay_inputs: Path,
                                                                         context: RuntimeContext) -> None:
    from reelforge.pipelines.overlay import OverlayBatchJob

    events: list[Event] = []
    job = OverlayBatchJob([overlay_inputs], overlay_spec(), tmp_path / "out", jobs=2)
    result = asyncio.run(job.arun(context, events.append))
    assert [r.video.name for r in result.failed] == ["broken.mp4"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mp4", "b.mp4"]
    finished = sorted(Path(e.step).name for e in events if e.type == "step.finished")
    failed = [Path(e.step).name for e in events if e.type == "step.failed"]
    assert finished == ["a.mp4", "b.mp4"] and failed == ["broken.mp4"]
    assert events[0].type == "run.started" and events[0].data["steps"] == 3
    assert events[-1].type == "run.finished"
    assert events[-1].data["summary"]["succeeded"] == 2 and events[-1].data["summary"]["failed"] == 1
    assert {e.run_id for e in events} == {events[0].run_id}
    for name in ("a.mp4", "b.mp4"):  # each video's steps come in order
        own = [e.type for e in events if e.step and Path(e.step).name == name]
        assert own[0] == "step.started" and own[-1] == "step.finished"


def test_cancelling_an_overlay_batch_kills_its_ffmpeg(tmp_path: Path, context: RuntimeContext) -> None:
    from reelforge.pipelines.overlay import OverlayBatchJob

    from .conftest import run_ffmpeg

    source = tmp_path / "in"
    source.mkdir()
    for name in ("x", "y"):
        run_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=20", "-c:v", "libx264", "-preset", "ultrafast",
                   "-pix_fmt", "yuv420p", str(source / f"{name}.mp4"))
    out = tmp_path / "out"
    token = CancelToken()

    def sink(event: Event) -> None:
        if event.type == "step.progress":
            token.cancel()

    job = OverlayBatchJob([source], overlay_spec(), out, jobs=2)
    began = time.monotonic()
    with pytest.raises(JobCancelled):
        asyncio.run(job.arun(context, sink, token))
    assert time.monotonic() - began < 20
    assert ffmpeg_children() == []
    assert not out.exists() or list(out.iterdir()) == []


# --- text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["local", "ai"])
def test_the_text_job_runs_either_engine_with_events(tmp_path: Path, engine: str) -> None:
    from reelforge.pipelines.text import TextJob
    from reelforge.settings import get_settings

    events: list[Event] = []
    out = tmp_path / f"{engine}.png"
    job = TextJob("SALE", "sale-badge", engine=engine, output=out, provider="local" if engine == "ai" else None,
                  on_event=events.append, settings=get_settings())
    plan = job.plan()
    if engine == "local":
        assert plan.cost_usd == 0.0 and plan.engine == "local"
    else:
        assert plan.provider == "local" and plan.plan.calls >= 0
    image = job.run()
    assert image.mode == "RGBA" and out.is_file()
    assert events[0].type == "run.started" and events[-1].type == "run.finished"
    assert events[-1].data["state"] == "succeeded"
    assert any(e.type in ("step.finished", "step.cached") for e in events)


def test_a_cancelled_text_job_raises_job_cancelled(tmp_path: Path, context: RuntimeContext) -> None:
    from reelforge.pipelines.text import TextJob

    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        asyncio.run(TextJob("SALE", output=tmp_path / "x.png").arun(context, None, token))
    assert not (tmp_path / "x.png").exists()


# --- scenes' final render -------------------------------------------------------------------------


def test_cancelling_a_scenes_job_during_its_render_kills_ffmpeg(tmp_path: Path, context: RuntimeContext) -> None:
    import yaml

    from reelforge.pipelines.scenes import ScenesJob, load_scenes

    spec = tmp_path / "scenes.yaml"
    spec.write_text(yaml.safe_dump({"provider": "local", "mode": "speed", "resolution": "1080p", "duration": 30.0,
                                    "quality": "standard", "scenes": [{"prompt": "a lighthouse"},
                                                                      {"prompt": "a boat"}]}))
    out = tmp_path / "out" / "v.mp4"
    job = ScenesJob(load_scenes(spec), out, context.settings)
    token = CancelToken()

    def watch(event: Event) -> None:  # the render's events reach the context's bus
        if event.type == "step.progress" and event.step == "encode":
            token.cancel()

    context.subscribe(watch)
    with pytest.raises(JobCancelled):
        asyncio.run(job.arun(context, None, token))
    assert ffmpeg_children() == []
    assert not out.exists() and not [p for p in out.parent.iterdir() if ".part" in p.name]
