"""Today's pipelines that are not yet jobs (render, cut-out, overlay, the local text engine),
wrapped as jobs: the blocking library call runs on a thread, its progress becomes runtime
Events, and the CancelToken stops it at the next progress tick (ffmpeg is killed by run_ffmpeg
when its progress callback raises). Each goes away when its pipeline grows its own job class."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reelforge.pipelines.job import CancelToken, EventSink, JobCancelled
from reelforge.runtime.context import RuntimeContext
from reelforge.runtime.events import Event

Work = Callable[[Callable[[float, str], None]], Any]  # (report(fraction, message)) -> result


@dataclass
class LocalPlan:
    """What a local job costs: nothing, and no provider call."""

    calls: int = 0
    cached: int = 0
    estimate_usd: float = 0.0
    notes: tuple[str, ...] = ("runs locally: no provider call, $0",)


class ThreadJob:
    """One blocking call as a job with one step."""

    def __init__(self, kind: str, step: str, work: Work) -> None:
        self.kind, self.step, self.work = kind, step, work

    async def aplan(self, ctx: RuntimeContext) -> LocalPlan:
        return LocalPlan()

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> Any:
        token = cancel or CancelToken()
        run_id = f"{self.kind}-{secrets.token_hex(4)}"
        loop = asyncio.get_running_loop()
        emit = (lambda e: loop.call_soon_threadsafe(events, e)) if events else (lambda e: None)

        def report(fraction: float, message: str = "") -> None:
            if token.cancelled:
                raise JobCancelled(f"the job was {token.reason}")
            emit(Event("step.progress", run_id, self.step, {"fraction": max(0.0, min(1.0, fraction)),
                                                              "message": message}))

        if events:
            events(Event("run.started", run_id, None, {"title": self.kind, "steps": 1}))
            events(Event("step.started", run_id, self.step, {"kind": self.step, "label": self.step}))
        async with token.scope():
            try:
                result = await asyncio.to_thread(self.work, report)
            except Exception as exc:
                if events and not isinstance(exc, JobCancelled):
                    events(Event("step.failed", run_id, self.step, {"kind": self.step, "error": str(exc)}))
                raise
        if events:
            events(Event("step.finished", run_id, self.step, {"kind": self.step, "cost_usd": 0.0}))
            events(Event("run.finished", run_id, None, {"state": "succeeded"}))
        return result


# --- the builders ------------------------------------------------------------------------------

def render_job(timeline: Any, output: Path) -> ThreadJob:
    from reelforge.render.api import render

    def work(report: Callable[[float, str], None]) -> Any:
        def on_progress(progress: Any, total: float) -> None:
            report(progress.out_seconds / total if total else 0.0, f"{progress.out_seconds:.1f}/{total:.1f} s")

        return render(timeline, output, on_progress=on_progress)

    return ThreadJob("render", "render", work)


def cutout_job(inputs: list[Path], output: Path, options: Any) -> ThreadJob:
    from reelforge.errors import InputError
    from reelforge.pipelines.cutout import cutout_files

    def work(report: Callable[[float, str], None]) -> Any:
        done: list[Any] = []

        def on_item(item: Any) -> None:
            done.append(item)
            report(len(done) / len(inputs), f"{Path(item.source).name}: {'ok' if item.ok else item.error}")

        report(0.0, "cutting out")
        output.mkdir(parents=True, exist_ok=True)
        reports = cutout_files(inputs, output, options, workers=1, on_item=on_item)
        failed = [r for r in reports if not r.ok]
        if failed and len(failed) == len(reports):
            raise InputError(f"no image could be cut out: {failed[0].error}", field="inputs")
        return reports

    return ThreadJob("cutout", "cutout", work)


def overlay_job(videos: list[Path], spec: Any, output: Path) -> ThreadJob:
    from reelforge.errors import InputError
    from reelforge.pipelines.overlay import overlay_batch

    def work(report: Callable[[float, str], None]) -> Any:
        finished: set[Path] = set()

        def on_event(event: Any) -> None:
            if event.kind in ("done", "failed"):
                finished.add(event.video)
            part = event.done_seconds / event.total_seconds if event.total_seconds else 0.0
            report((len(finished) + (0 if event.kind in ("done", "failed") else part)) / len(videos),
                   f"{event.video.name}: {event.kind}")

        output.mkdir(parents=True, exist_ok=True)
        result = overlay_batch(videos, spec, output if len(videos) > 1 else output / videos[0].with_suffix(".mp4").name,
                               jobs=1, on_event=on_event)
        if result.failed and len(result.failed) == len(result.results):
            raise InputError(f"no video could be processed: {result.failed[0].message}", field="videos")
        return result

    return ThreadJob("overlay", "overlay", work)


def local_text_job(text: str, style: Any, output: Path) -> ThreadJob:
    from reelforge.pipelines.text import render_text_png

    def work(report: Callable[[float, str], None]) -> Any:
        report(0.0, "drawing text")
        return render_text_png(text, output, style)

    return ThreadJob("text", "text.render", work)


class SavingJob:
    """A job whose result is an image: saves it as a PNG when it is done."""

    def __init__(self, inner: Any, output: Path) -> None:
        self.inner, self.output, self.kind = inner, output, inner.kind

    async def aplan(self, ctx: RuntimeContext) -> Any:
        return await self.inner.aplan(ctx)

    async def arun(self, ctx: RuntimeContext, events: EventSink | None = None,
                   cancel: CancelToken | None = None) -> Any:
        from reelforge.atomic import atomic_output

        image = await self.inner.arun(ctx, events, cancel)

        def save() -> None:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(self.output) as tmp:
                image.save(tmp, format="PNG")

        await asyncio.to_thread(save)
        return image
